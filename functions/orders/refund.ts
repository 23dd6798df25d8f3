import { emptyBody } from '../../lib/baskets/schemas';
import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { orderReply } from '../../lib/orders/http';
import { orderParams } from '../../lib/orders/schemas';
import { services } from '../../lib/services';

export const handler = endpoint({ params: orderParams, body: emptyBody }, async (request) =>
  orderReply(await services().refunds.refund(request.caller, request.params.orderId, upstreamCallOptions(request))),
);
