import { basketReply } from '../../lib/baskets/http';
import { endpoint } from '../../lib/http/endpoint';
import { routes } from '../../lib/http/routes';
import { services } from '../../lib/services';

export const handler = endpoint(routes.getBasket, async ({ caller, params }) => basketReply(await services().baskets.get(caller, params.basketId)));
