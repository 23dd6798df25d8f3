import { endpoint } from '../../lib/http/endpoint';
import { ok } from '../../lib/http/reply';
import { routes } from '../../lib/http/routes';
import { operatorOrderView } from '../../lib/orders/http';
import { services } from '../../lib/services';

export const handler = endpoint(routes.resolveOrder, async ({ caller, params, body, deadline, log, signal }) => {
  const { order, resolution } = await services().resolutions.resolve(caller, params.orderId, body, { deadline, log, signal });
  return ok(operatorOrderView(order, resolution));
});
