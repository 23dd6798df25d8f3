import { z } from 'zod';
import { minorUnits, productId, vatRate } from '../baskets/schemas';

/** A product as replies show it (lib/catalogue/product.ts productView builds it). */
export const productView = z
  .object({
    id: productId,
    name: z.string(),
    vatRate,
    netPrice: minorUnits.describe('Net unit price, integer minor units'),
    grossPrice: minorUnits.describe('round-half-up(netPrice × (1 + vatRate))'),
  })
  .meta({ id: 'Product' });

export const productListView = z.object({ products: z.array(productView) }).meta({ id: 'ProductList' });

export type ProductView = z.output<typeof productView>;
