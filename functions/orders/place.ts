import { basketParams, emptyBody } from '../../lib/baskets/schemas';
import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { idempotently, paymentReply } from '../../lib/orders/http';
import { idempotentHeaders } from '../../lib/orders/schemas';
import { services } from '../../lib/services';

export const handler = endpoint({ params: basketParams, body: emptyBody, headers: idempotentHeaders }, async (request) =>
  idempotently(request, 'POST /baskets/{basketId}/orders', async (key) => {
    const call = upstreamCallOptions(request);
    const order = await services().checkout.placeOrder(request.caller, request.params.basketId, key, request.headers['if-match'], call);
    services().checkout.completeAfterReply(order, call);
    return paymentReply(order);
  }),
);
