import { basketReply } from '../../lib/baskets/http';
import { endpoint } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { services } from '../../lib/services';

export const handler = endpoint(routes.removeBasketItem, async ({ caller, params, headers }) =>
  basketReply(await services().baskets.removeItem(caller, params.basketId, params.productId, headers['if-match'])),
);
