import { basketReply } from '../../lib/baskets/http';
import { endpoint } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { services } from '../../lib/services';

export const handler = endpoint(routes.createBasket, async ({ caller }) => {
  const basket = await services().baskets.create(caller);
  const reply = basketReply(basket, 201);
  return { ...reply, headers: { ...reply.headers, location: `/baskets/${basket.id}` } };
});
