import { basketParams, ifMatchHeaders } from '../../lib/baskets/schemas';
import { endpoint } from '../../lib/http/endpoint';
import { noContent } from '../../lib/http/reply';
import { services } from '../../lib/services';

export const handler = endpoint({ params: basketParams, headers: ifMatchHeaders }, async ({ caller, params, headers }) => {
  await services().baskets.discard(caller, params.basketId, headers['if-match']);
  return noContent();
});
