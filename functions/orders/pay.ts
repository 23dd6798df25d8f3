import { afterReply, endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { paymentReply } from '../../lib/orders/http';
import { services } from '../../lib/services';

export const handler = endpoint(routes.payOrder, async (request) => {
  const call = upstreamCallOptions(request);
  const order = await services().checkout.payOrder(request.caller, request.params.orderId, call);
  afterReply(request, () => services().settlement.completeAfterReply(order, call));
  return paymentReply(order);
});
