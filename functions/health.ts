import { endpoint } from './app';
import { ok } from '../lib/http/reply';
import { routes } from '../lib/http/routes';

export const handler = endpoint(routes.health, async (_request, app) => ok(await app.health.check()));
