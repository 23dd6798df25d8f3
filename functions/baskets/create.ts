import { basketReply } from '../../lib/baskets/http';
import { emptyBody } from '../../lib/baskets/schemas';
import { endpoint } from '../../lib/http/endpoint';
import { services } from '../../lib/services';

export const handler = endpoint({ body: emptyBody }, async ({ caller }) => {
  const basket = await services().baskets.create(caller);
  const reply = basketReply(basket, 201);
  return { ...reply, headers: { ...reply.headers, location: `/baskets/${basket.id}` } };
});
