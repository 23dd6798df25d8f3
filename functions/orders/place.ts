import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { idempotently, orderReply } from '../../lib/orders/http';
import { checkout } from '../../lib/services';

export const handler = endpoint(routes.placeOrder, async (request) =>
  idempotently(request, routes.placeOrder, async (key) => {
    const call = upstreamCallOptions(request);
    const order = await checkout().placeOrder(request.caller, request.params.basketId, key, request.headers['if-match'], call);
    checkout().completeAfterReply(order, call);
    return orderReply(order, 201);
  }),
);
