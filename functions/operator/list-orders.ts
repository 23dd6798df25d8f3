import { endpoint } from '../../lib/http/endpoint';
import { ok } from '../../lib/http/reply';
import { routes } from '../../lib/http/routes';
import { operatorOrderView } from '../../lib/orders/http';
import { services } from '../../lib/services';

export const handler = endpoint(routes.operatorListOrders, async ({ caller, query }) => {
  const page = await services().resolutions.list(caller, { limit: query.limit, after: query.after });
  return ok({ orders: page.orders.map((order) => operatorOrderView(order)), nextCursor: page.nextCursor ?? null });
});
