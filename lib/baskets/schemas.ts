import { z } from 'zod';
import { MAX_QUANTITY } from './basket';

export const basketParams = z.strictObject({ basketId: z.uuid({ message: 'Must be a UUID' }) });

/** Product ids are opaque (UUIDs upstream): bounded and URL-safe. */
export const productId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._~-]+$/, 'Must be 1–128 URL-safe characters');

export const basketItemParams = z.strictObject({ basketId: basketParams.shape.basketId, productId });

export const setQuantityBody = z.strictObject({
  quantity: z.number({ message: 'Must be an integer' }).int('Must be an integer').min(0).max(MAX_QUANTITY),
});

/** `If-Match: 3` or `If-Match: "3"` (the ETag we send) for optimistic concurrency. */
export const ifMatchHeaders = z.looseObject({
  'if-match': z
    .string()
    .regex(/^(W\/)?"?\d{1,9}"?$/, 'Must be the basket version, e.g. "3"')
    .transform((value) => Number(value.replace(/\D/g, '')))
    .optional(),
});

export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().max(512).optional(),
});

export const emptyBody = z.strictObject({}).optional();

/** Money in the API: integer minor units (øre, cents). */
export const minorUnits = z.int().describe('Integer minor units (øre, cents)');
export const vatRate = z.number().min(0).max(1).describe('VAT as a fraction, e.g. 0.2 for 20 %');

export const basketLineView = z
  .object({
    productId,
    name: z.string(),
    quantity: z.int().min(1).max(MAX_QUANTITY),
    unitNetPrice: minorUnits.describe('Net price of one unit when the line was set (minor units)'),
    vatRate,
    net: minorUnits,
    vat: minorUnits,
    gross: minorUnits.describe('round-half-up(net × (1 + vatRate)), rounded once per line'),
  })
  .meta({ id: 'BasketLine' });

export const amountsView = z.object({ net: minorUnits, vat: minorUnits, gross: minorUnits }).meta({ id: 'Amounts' });

export const vatGroupView = z.object({ vatRate, net: minorUnits, vat: minorUnits, gross: minorUnits }).meta({ id: 'VatGroup' });

/** A basket as replies show it (lib/baskets/basket.ts basketView builds it). */
export const basketView = z
  .object({
    id: z.uuid(),
    status: z.enum(['open', 'locked', 'closed', 'discarded']),
    version: z.int().min(1).describe('Bumped by every write; sent as ETag, sent back as If-Match'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    lines: z.array(basketLineView),
    vatBreakdown: z.array(vatGroupView).describe('One entry per VAT rate, highest rate first'),
    totals: amountsView,
  })
  .meta({ id: 'Basket' });

export const basketPageView = z
  .object({
    baskets: z.array(basketView).describe("The caller's open baskets, newest first"),
    nextCursor: z.string().nullable().describe('Pass as ?after= for the next page; null on the last page'),
  })
  .meta({ id: 'BasketPage' });

export type BasketView = z.output<typeof basketView>;
