import { basketReply } from '../../lib/baskets/http';
import { endpoint } from '../app';
import { routes } from '../../lib/http/routes';

export const handler = endpoint(routes.createBasket, async ({ caller }, app) => {
  const basket = await app.baskets.create(caller);
  const reply = basketReply(basket, 201);
  return { ...reply, headers: { ...reply.headers, location: `/baskets/${basket.id}` } };
});
