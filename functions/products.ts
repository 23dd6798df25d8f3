import { productView } from '../lib/catalogue/product';
import { endpoint, upstreamCallOptions } from '../lib/http/endpoint';
import { ok } from '../lib/http/reply';
import { services } from '../lib/services';

export const handler = endpoint({}, async (request) => {
  const products = await services().catalogue.list(upstreamCallOptions(request));
  return ok({ products: products.map(productView) });
});
