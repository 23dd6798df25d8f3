import { basketView } from '../../lib/baskets/basket';
import { listQuery } from '../../lib/baskets/schemas';
import { endpoint } from '../../lib/http/endpoint';
import { ok } from '../../lib/http/reply';
import { services } from '../../lib/services';

export const handler = endpoint({ query: listQuery }, async ({ caller, query }) => {
  const page = await services().baskets.list(caller, { limit: query.limit, after: query.after });
  return ok({ baskets: page.baskets.map(basketView), nextCursor: page.nextCursor ?? null });
});
