import { z } from 'zod';
import { ifMatchHeaders } from '../baskets/schemas';
import { AppError } from '../errors';
import { idempotencyKeySchema } from '../idempotency/key';

export const orderParams = z.strictObject({ orderId: z.uuid({ message: 'Must be a UUID' }) });

export const idempotentHeaders = ifMatchHeaders.extend({ 'idempotency-key': idempotencyKeySchema.optional() });

/** The Idempotency-Key every paying request must carry: missing is 400, malformed is 422 (by the schema). */
export function requireIdempotencyKey(headers: { 'idempotency-key'?: string }): string {
  const key = headers['idempotency-key'];
  if (!key) {
    throw new AppError('IDEMPOTENCY_KEY_MISSING', 'This request needs an Idempotency-Key header (a unique value per checkout attempt, reused on retries)');
  }
  return key;
}
