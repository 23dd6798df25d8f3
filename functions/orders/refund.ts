import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { orderReply } from '../../lib/orders/http';
import { services } from '../../lib/services';

export const handler = endpoint(routes.refundOrder, async (request) =>
  orderReply(await services().refunds.refund(request.caller, request.params.orderId, upstreamCallOptions(request))),
);
