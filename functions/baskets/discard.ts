import { endpoint } from '../app';
import { noContent } from '../../lib/http/reply';
import { routes } from '../../lib/http/routes';

export const handler = endpoint(routes.discardBasket, async ({ caller, params, headers }, app) => {
  await app.baskets.discard(caller, params.basketId, headers['if-match']);
  return noContent();
});
