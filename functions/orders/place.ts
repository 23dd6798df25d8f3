import { endpoint } from '../app';
import { afterReply, upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { paymentReply } from '../../lib/orders/http';

export const handler = endpoint(routes.placeOrder, async (request, app) => {
  const call = upstreamCallOptions(request);
  const order = await app.checkout.placeOrder(
    request.caller,
    request.params.basketId,
    request.idempotencyKey,
    request.headers['if-match'],
    call,
    { pay: request.body?.pay ?? true },
  );
  afterReply(request, () => app.settlement.completeAfterReply(order, call));
  return paymentReply(order);
});
