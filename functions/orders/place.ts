import { endpoint } from '../app';
import { afterReply, upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { paymentReply } from '../../lib/orders/http';

export const handler = endpoint(routes.placeOrder, async (request, app) => {
  const call = upstreamCallOptions(request);
  app.completion.prepare();
  const order = await app.checkout.placeOrder(
    request.caller,
    request.params.basketId,
    request.idempotencyKey,
    request.headers['if-match'],
    call,
    { pay: request.body?.pay ?? true, key: request.idempotencyClaim },
  );
  // A paid order's completion is handed to the completeOrder function before the reply (or, failing that, run after it here).
  await app.completion.afterPayment(order, call, {
    requestId: request.requestId,
    runAfterReply: (work) => afterReply(request, work),
  });
  return paymentReply(order);
});
