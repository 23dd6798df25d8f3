import { productView } from '../lib/catalogue/product';
import { endpoint } from './app';
import { upstreamCallOptions } from '../lib/http/endpoint';
import { ok } from '../lib/http/reply';
import { routes } from '../lib/http/routes';

export const handler = endpoint(routes.products, async (request, app) => {
  const products = await app.catalogue.list(upstreamCallOptions(request));
  return ok({ products: products.map(productView) });
});
