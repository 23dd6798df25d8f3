import { renderDocsPage } from '../lib/http/docs-page';
import { endpoint } from './app';
import { openApiDocument } from '../lib/http/openapi';
import { routes } from '../lib/http/routes';

let page: string | undefined;

/** GET /docs: the OpenAPI document as a readable, self-contained HTML page. */
export const handler = endpoint(routes.docs, async () => {
  page ??= renderDocsPage(openApiDocument());
  return { status: 200, rawBody: page, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=300' } };
});
