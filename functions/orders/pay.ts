import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { idempotently, orderReply } from '../../lib/orders/http';
import { checkout } from '../../lib/services';

export const handler = endpoint(routes.payOrder, async (request) =>
  idempotently(request, routes.payOrder, async () => {
    const call = upstreamCallOptions(request);
    const order = await checkout().payAgain(request.caller, request.params.orderId, call);
    checkout().completeAfterReply(order, call);
    return orderReply(order, 201);
  }),
);
