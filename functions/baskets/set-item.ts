import { basketReply } from '../../lib/baskets/http';
import { basketItemParams, ifMatchHeaders, setQuantityBody } from '../../lib/baskets/schemas';
import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { services } from '../../lib/services';

export const handler = endpoint({ params: basketItemParams, body: setQuantityBody, headers: ifMatchHeaders }, async (request) => {
  const { caller, params, body, headers } = request;
  const basket = await services().baskets.setQuantity(caller, params.basketId, params.productId, body.quantity, headers['if-match'], upstreamCallOptions(request));
  return basketReply(basket);
});
