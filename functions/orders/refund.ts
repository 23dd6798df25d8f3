import { endpoint } from '../app';
import { upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { orderReply } from '../../lib/orders/http';

export const handler = endpoint(routes.refundOrder, async (request, app) =>
  orderReply(await app.refunds.refund(request.caller, request.params.orderId, upstreamCallOptions(request))),
);
