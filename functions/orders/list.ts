import { endpoint } from '../app';
import { ok } from '../../lib/http/reply';
import { routes } from '../../lib/http/routes';
import { orderView } from '../../lib/orders/order';

export const handler = endpoint(routes.listOrders, async ({ caller, query }, app) => {
  const page = await app.orderQueries.list(caller, {
    limit: query.limit,
    after: query.after,
    states: query.state,
    basketId: query.basketId,
  });
  return ok({ orders: page.orders.map(orderView), nextCursor: page.nextCursor ?? null });
});
