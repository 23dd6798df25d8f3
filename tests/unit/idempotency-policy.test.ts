import { shouldStoreResponse } from '../../lib/idempotency/policy';

describe('which responses are stored for an Idempotency-Key', () => {
  it.each([200, 201, 204, 400, 402, 404, 409, 412, 422, 502])('stores %i as the final answer to replay', (status) => {
    expect(shouldStoreResponse(status)).toBe(true);
  });

  it.each([500, 503, 504])('does not store %i, so the same key may be retried', (status) => {
    expect(shouldStoreResponse(status)).toBe(false);
  });
});
