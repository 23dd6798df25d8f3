import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { orderReply } from '../../lib/orders/http';
import { refunds } from '../../lib/services';

export const handler = endpoint(routes.refundOrder, async (request) =>
  orderReply(await refunds().refund(request.caller, request.params.orderId, upstreamCallOptions(request))),
);
