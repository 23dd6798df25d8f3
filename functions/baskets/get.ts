import { basketReply } from '../../lib/baskets/http';
import { basketParams } from '../../lib/baskets/schemas';
import { endpoint } from '../../lib/http/endpoint';
import { basketService } from '../../lib/services';

export const handler = endpoint({ params: basketParams }, async ({ caller, params }) =>
  basketReply(await basketService().get(caller, params.basketId)),
);
