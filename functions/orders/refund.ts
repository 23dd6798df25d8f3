import { emptyBody } from '../../lib/baskets/schemas';
import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { orderReply } from '../../lib/orders/http';
import { orderParams } from '../../lib/orders/schemas';
import { refunds } from '../../lib/services';

export const handler = endpoint({ params: orderParams, body: emptyBody }, async (request) =>
  orderReply(await refunds().refund(request.caller, request.params.orderId, upstreamCallOptions(request))),
);
