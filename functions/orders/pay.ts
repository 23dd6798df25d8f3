import { emptyBody } from '../../lib/baskets/schemas';
import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { idempotently, paymentReply } from '../../lib/orders/http';
import { idempotentHeaders, orderParams } from '../../lib/orders/schemas';
import { checkout } from '../../lib/services';

export const handler = endpoint({ params: orderParams, body: emptyBody, headers: idempotentHeaders }, async (request) =>
  idempotently(request, 'POST /orders/{orderId}/payments', async () => {
    const call = upstreamCallOptions(request);
    const order = await checkout().payAgain(request.caller, request.params.orderId, call);
    checkout().completeAfterReply(order, call);
    return paymentReply(order);
  }),
);
