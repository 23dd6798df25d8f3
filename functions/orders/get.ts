import { endpoint } from '../app';
import { routes } from '../../lib/http/routes';
import { orderReply } from '../../lib/orders/http';

export const handler = endpoint(routes.getOrder, async ({ caller, params }, app) =>
  orderReply(await app.orderQueries.get(caller, params.orderId)),
);
