import { basketReply } from '../../lib/baskets/http';
import { endpoint } from '../app';
import { routes } from '../../lib/http/routes';

export const handler = endpoint(routes.getBasket, async ({ caller, params }, app) =>
  basketReply(await app.baskets.get(caller, params.basketId)),
);
