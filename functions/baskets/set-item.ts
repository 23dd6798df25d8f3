import { basketReply } from '../../lib/baskets/http';
import { endpoint } from '../app';
import { upstreamCallOptions } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';

export const handler = endpoint(routes.setBasketItem, async (request, app) => {
  const { caller, params, body, headers } = request;
  const basket = await app.baskets.setQuantity(
    caller,
    params.basketId,
    params.productId,
    body.quantity,
    headers['if-match'],
    upstreamCallOptions(request),
  );
  return basketReply(basket);
});
