import { emptyBody } from '../../lib/baskets/schemas';
import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { idempotently, paymentReply } from '../../lib/orders/http';
import { idempotentHeaders, orderParams } from '../../lib/orders/schemas';
import { services } from '../../lib/services';

export const handler = endpoint({ params: orderParams, body: emptyBody, headers: idempotentHeaders }, async (request) =>
  idempotently(request, 'POST /orders/{orderId}/payments', async () => {
    const call = upstreamCallOptions(request);
    const order = await services().checkout.payAgain(request.caller, request.params.orderId, call);
    services().checkout.completeAfterReply(order, call);
    return paymentReply(order);
  }),
);
