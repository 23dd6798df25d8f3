import { endpoint } from '../../lib/http/endpoint';
import { noContent } from '../../lib/http/reply';
import { routes } from '../../lib/http/routes';
import { services } from '../../lib/services';

export const handler = endpoint(routes.discardBasket, async ({ caller, params, headers }) => {
  await services().baskets.discard(caller, params.basketId, headers['if-match']);
  return noContent();
});
