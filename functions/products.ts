import { productView } from '../lib/catalogue/product';
import { endpoint, upstreamCallOptions } from '../lib/http/endpoint';
import { ok } from '../lib/http/reply';
import { routes } from '../lib/http/routes';
import { services } from '../lib/services';

export const handler = endpoint(routes.products, async (request) => {
  const products = await services().catalogue.list(upstreamCallOptions(request));
  return ok({ products: products.map(productView) });
});
