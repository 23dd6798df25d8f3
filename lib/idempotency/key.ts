import { z } from 'zod';
import { AppError } from '../errors';

/** The Idempotency-Key header: 1 to 255 printable ASCII characters, no spaces. */
export const idempotencyKeySchema = z
  .string()
  .min(1, 'Idempotency-Key must not be empty')
  .max(255, 'Idempotency-Key must be at most 255 characters')
  .regex(/^[\x21-\x7e]*$/, 'Idempotency-Key must be printable ASCII without spaces');

/** The key of a request that needs one: 400 IDEMPOTENCY_KEY_MISSING without it. */
export function requireIdempotencyKey(headers: { 'idempotency-key'?: string }): string {
  const key = headers['idempotency-key'];
  if (!key) {
    throw new AppError(
      'IDEMPOTENCY_KEY_MISSING',
      'This request needs an Idempotency-Key header (a unique value per checkout attempt, reused on retries)',
    );
  }
  return key;
}
