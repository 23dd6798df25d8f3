import { basketView } from '../../lib/baskets/http';
import { endpoint } from '../../lib/http/endpoint';
import { ok } from '../../lib/http/reply';
import { routes } from '../../lib/http/routes';
import { services } from '../../lib/services';

export const handler = endpoint(routes.listBaskets, async ({ caller, query }) => {
  const page = await services().baskets.list(caller, { limit: query.limit, after: query.after });
  return ok({ baskets: page.baskets.map(basketView), nextCursor: page.nextCursor ?? null });
});
