import { endpoint } from '../app';
import { afterReply, upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { paymentReply } from '../../lib/orders/http';

export const handler = endpoint(routes.payOrder, async (request, app) => {
  const call = upstreamCallOptions(request);
  app.completion.prepare();
  const order = await app.checkout.payOrder(request.caller, request.params.orderId, call, request.idempotencyClaim);
  // A paid order's completion is handed to the completeOrder function before the reply (or, failing that, run after it here).
  await app.completion.afterPayment(order, call, {
    requestId: request.requestId,
    runAfterReply: (work) => afterReply(request, work),
  });
  return paymentReply(order);
});
