import { z } from 'zod';

/** The Idempotency-Key header: 1 to 255 printable ASCII characters, no spaces. */
export const idempotencyKeySchema = z
  .string()
  .min(1, 'Idempotency-Key must not be empty')
  .max(255, 'Idempotency-Key must be at most 255 characters')
  .regex(/^[\x21-\x7e]*$/, 'Idempotency-Key must be printable ASCII without spaces');
