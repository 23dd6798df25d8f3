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
