import { endpoint } from '../app';
import { ok } from '../../lib/http/reply';
import { routes } from '../../lib/http/routes';
import { operatorOrderView } from '../../lib/orders/http';

export const handler = endpoint(routes.operatorListOrders, async ({ caller, query }, app) => {
  const page = await app.resolutions.list(caller, { limit: query.limit, after: query.after });
  return ok({ orders: page.orders.map((order) => operatorOrderView(order)), nextCursor: page.nextCursor ?? null });
});
