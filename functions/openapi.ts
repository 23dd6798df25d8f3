import { endpoint } from './app';
import { openApiDocument } from '../lib/http/openapi';
import { ok } from '../lib/http/reply';
import { routes } from '../lib/http/routes';

/** GET /openapi.json: the API's OpenAPI 3.1 document, generated from the route registry. */
export const handler = endpoint(routes.openApi, async () => ok(openApiDocument(), { 'cache-control': 'public, max-age=300' }));
