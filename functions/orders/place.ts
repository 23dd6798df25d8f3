import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { idempotently, paymentReply } from '../../lib/orders/http';
import { services } from '../../lib/services';

export const handler = endpoint(routes.placeOrder, async (request) =>
  idempotently(request, routes.placeOrder, async (key) => {
    const call = upstreamCallOptions(request);
    const order = await services().checkout.placeOrder(request.caller, request.params.basketId, key, request.headers['if-match'], call, { pay: request.body?.pay ?? true });
    services().checkout.completeAfterReply(order, call);
    return paymentReply(order);
  }),
);
