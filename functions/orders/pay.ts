import { endpoint } from '../app';
import { afterReply, upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { paymentReply } from '../../lib/orders/http';

export const handler = endpoint(routes.payOrder, async (request, app) => {
  const call = upstreamCallOptions(request);
  const order = await app.checkout.payOrder(request.caller, request.params.orderId, call);
  afterReply(request, () => app.settlement.completeAfterReply(order, call));
  return paymentReply(order);
});
