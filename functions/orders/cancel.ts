import { endpoint } from '../app';
import { upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { orderReply } from '../../lib/orders/http';

/** 200 with the cancelled order; 202 while failing it upstream is left to the reconciler (nothing can pay it meanwhile). */
export const handler = endpoint(routes.cancelOrder, async (request, app) => {
  const order = await app.checkout.cancel(request.caller, request.params.orderId, upstreamCallOptions(request));
  return orderReply(order, order.state === 'failing' ? 202 : 200);
});
