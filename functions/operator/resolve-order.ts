import { endpoint } from '../app';
import { ok } from '../../lib/http/reply';
import { routes } from '../../lib/http/routes';
import { operatorOrderView } from '../../lib/orders/http';

export const handler = endpoint(routes.resolveOrder, async ({ caller, params, body, deadline, log, signal }, app) => {
  const { order, resolution } = await app.resolutions.resolve(caller, params.orderId, body, { deadline, log, signal });
  return ok(operatorOrderView(order, resolution));
});
