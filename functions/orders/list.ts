import { endpoint } from '../../lib/http/endpoint';
import { ok } from '../../lib/http/reply';
import { routes } from '../../lib/http/routes';
import { orderView } from '../../lib/orders/order';
import { services } from '../../lib/services';

export const handler = endpoint(routes.listOrders, async ({ caller, query }) => {
  const page = await services().orders.listForOwner(caller.userId, { limit: query.limit, after: query.after, states: query.state, basketId: query.basketId });
  return ok({ orders: page.orders.map(orderView), nextCursor: page.nextCursor ?? null });
});
