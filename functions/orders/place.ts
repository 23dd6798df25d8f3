import { afterReply, endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { paymentReply } from '../../lib/orders/http';
import { services } from '../../lib/services';

export const handler = endpoint(routes.placeOrder, async (request) => {
  const call = upstreamCallOptions(request);
  const order = await services().checkout.placeOrder(request.caller, request.params.basketId, request.idempotencyKey, request.headers['if-match'], call, { pay: request.body?.pay ?? true });
  afterReply(request, () => services().settlement.completeAfterReply(order, call));
  return paymentReply(order);
});
