import { AppError } from '../../lib/errors';
import { endpoint } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { orderReply } from '../../lib/orders/http';
import { services } from '../../lib/services';

export const handler = endpoint(routes.getOrder, async ({ caller, params }) => {
  const order = await services().orders.find(caller.userId, params.orderId);
  if (!order) throw new AppError('ORDER_NOT_FOUND', 'Order not found');
  return orderReply(order);
});
