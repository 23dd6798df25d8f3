import { basketReply } from '../../lib/baskets/http';
import { basketParams } from '../../lib/baskets/schemas';
import { endpoint } from '../../lib/http/endpoint';
import { services } from '../../lib/services';

export const handler = endpoint({ params: basketParams }, async ({ caller, params }) =>
  basketReply(await services().baskets.get(caller, params.basketId)),
);
