import { basketReply } from '../../lib/baskets/http';
import { endpoint, upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { services } from '../../lib/services';

export const handler = endpoint(routes.setBasketItem, async (request) => {
  const { caller, params, body, headers } = request;
  const basket = await services().baskets.setQuantity(caller, params.basketId, params.productId, body.quantity, headers['if-match'], upstreamCallOptions(request));
  return basketReply(basket);
});
