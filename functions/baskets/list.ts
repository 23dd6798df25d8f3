import { basketView } from '../../lib/baskets/http';
import { endpoint } from '../app';
import { ok } from '../../lib/http/reply';
import { routes } from '../../lib/http/routes';

export const handler = endpoint(routes.listBaskets, async ({ caller, query }, app) => {
  const page = await app.baskets.list(caller, { limit: query.limit, after: query.after });
  return ok({ baskets: page.baskets.map(basketView), nextCursor: page.nextCursor ?? null });
});
