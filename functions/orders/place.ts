import { basketParams, emptyBody } from '../../lib/baskets/schemas';
import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { idempotently, orderReply } from '../../lib/orders/http';
import { idempotentHeaders } from '../../lib/orders/schemas';
import { checkout } from '../../lib/services';

export const handler = endpoint({ params: basketParams, body: emptyBody, headers: idempotentHeaders }, async (request) =>
  idempotently(request, 'POST /baskets/{basketId}/orders', async (key) => {
    const call = upstreamCallOptions(request);
    const order = await checkout().placeOrder(request.caller, request.params.basketId, key, request.headers['if-match'], call);
    if (order.state === 'paid') {
      // Off the critical path: the reply goes out now; the reconciler finishes what this does not.
      checkout().complete(order, call).catch((error) => request.log.warn('completion deferred to the reconciler', { orderId: order.id, error }));
    }
    return orderReply(order, 201);
  }),
);
