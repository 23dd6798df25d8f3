import { basketReply } from '../../lib/baskets/http';
import { endpoint } from '../app';
import { routes } from '../../lib/http/routes';

export const handler = endpoint(routes.removeBasketItem, async ({ caller, params, headers }, app) =>
  basketReply(await app.baskets.removeItem(caller, params.basketId, params.productId, headers['if-match'])),
);
