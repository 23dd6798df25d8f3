import { idempotencyKeySchema } from '../../lib/idempotency/key';

describe('Idempotency-Key header value', () => {
  it.each(['a', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', '!~#$%&*+-.^_`|', 'x'.repeat(255)])('accepts %j', (key) => {
    expect(idempotencyKeySchema.safeParse(key).success).toBe(true);
  });

  it.each([
    ['an empty key', ''],
    ['a key over 255 characters', 'x'.repeat(256)],
    ['a space', 'order 1'],
    ['a tab', 'order\t1'],
    ['a newline', 'order\n1'],
    ['a non-ASCII character', 'ordré'],
    ['a DEL character', 'order\x7f'],
  ])('rejects %s', (_what, key) => {
    expect(idempotencyKeySchema.safeParse(key).success).toBe(false);
  });
});
