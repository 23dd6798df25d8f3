import { basketReply } from '../../lib/baskets/http';
import { basketItemParams, ifMatchHeaders } from '../../lib/baskets/schemas';
import { endpoint } from '../../lib/http/endpoint';
import { services } from '../../lib/services';

export const handler = endpoint({ params: basketItemParams, headers: ifMatchHeaders }, async ({ caller, params, headers }) =>
  basketReply(await services().baskets.removeItem(caller, params.basketId, params.productId, headers['if-match'])),
);
