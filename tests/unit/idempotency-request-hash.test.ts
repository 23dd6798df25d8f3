import { requestHash } from '../../lib/idempotency/request-hash';

const route = 'POST /baskets/{basketId}/orders';

describe('request hash for Idempotency-Key reuse detection', () => {
  it('is a sha256 hex digest', () => {
    expect(requestHash({ method: 'POST', route, params: { basketId: 'b1' }, body: {} })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on the order of keys, at any depth', () => {
    const a = requestHash({ method: 'POST', route, params: { basketId: 'b1' }, body: { tip: 5, card: { last4: '4242', brand: 'visa' } } });
    const b = requestHash({ method: 'post', route, params: { basketId: 'b1' }, body: { card: { brand: 'visa', last4: '4242' }, tip: 5 } });

    expect(a).toBe(b);
  });

  it('treats a missing body and a null body alike', () => {
    expect(requestHash({ method: 'POST', route, params: { basketId: 'b1' }, body: undefined })).toBe(
      requestHash({ method: 'POST', route, params: { basketId: 'b1' }, body: null }),
    );
  });

  describe('changes when any part of the request changes', () => {
    const base = { method: 'POST', route, params: { basketId: 'b1' }, body: { tip: 5, notes: ['a', 'b'] } };

    it.each([
      ['method', { ...base, method: 'PUT' }],
      ['route', { ...base, route: 'POST /orders/{orderId}/payments' }],
      ['path parameter', { ...base, params: { basketId: 'b2' } }],
      ['body value', { ...base, body: { tip: 6, notes: ['a', 'b'] } }],
      ['array order', { ...base, body: { tip: 5, notes: ['b', 'a'] } }],
    ])('the %s', (_what, other) => {
      expect(requestHash(other)).not.toBe(requestHash(base));
    });
  });
});
