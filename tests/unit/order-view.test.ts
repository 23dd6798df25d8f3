import { lastErrorCode, orderFromJson, orderView, type Order } from '../../lib/orders/order';
import { operatorOrderView, storedPaymentAnswer } from '../../lib/orders/http';

const order = (lastError: string | null): Order =>
  ({
    id: '6f1c2a5e-3b8f-4a44-9a57-0d7f8a1b2c3d',
    ownerId: 'cashier@example.com',
    basketId: '0b7e4f0e-1111-4c2b-8d55-3c9d2e1f4a5b',
    state: 'failed',
    totalMinor: 1234,
    paymentId: null,
    paymentAttempts: 1,
    lastError,
    createdAt: new Date('2026-12-03T10:00:00Z'),
    updatedAt: new Date('2026-12-03T10:01:00Z'),
  }) as Order;

describe('what a terminal sees of why an order failed', () => {
  it.each([
    ['PAYMENT_STATUS_UNKNOWN: payment 991 does not match the order (amount)', 'PAYMENT_STATUS_UNKNOWN'],
    ['RESOLVED_NOT_CHARGED: established by an operator', 'RESOLVED_NOT_CHARGED'],
    ['UPSTREAM_UNAVAILABLE: status 503', 'UPSTREAM_UNAVAILABLE'],
    ['PAYMENT_DECLINED', 'PAYMENT_DECLINED'],
    ['resolved by alice@corp: the bank says no', 'FAILED'],
    ['', 'FAILED'],
  ])('%j shows as %s', (stored, shown) => {
    expect(lastErrorCode(stored)).toBe(shown);
  });

  it('keeps the detail out of the terminal view and in the operator view', () => {
    const stored = 'PAYMENT_STATUS_UNKNOWN: payment 991 is already refunded';
    expect(orderView(order(stored)).lastError).toBe('PAYMENT_STATUS_UNKNOWN');
    expect(JSON.stringify(orderView(order(stored)))).not.toContain('991');
    expect(operatorOrderView(order(stored))).toMatchObject({ lastError: 'PAYMENT_STATUS_UNKNOWN', lastErrorDetail: stored });
    expect(orderView(order(null))).not.toHaveProperty('lastError');
  });
});

describe('an answer stored as the order it was given from', () => {
  const stored = (state: Order['state'], lastError: string | null) => ({
    id: '6f1c2a5e-3b8f-4a44-9a57-0d7f8a1b2c3d',
    ownerId: 'cashier@example.com',
    basketId: '0b7e4f0e-1111-4c2b-8d55-3c9d2e1f4a5b',
    state,
    totalMinor: 1234,
    openedByKey: 'key-1',
    upstreamOrderId: 'up-1',
    paymentId: state === 'paid' ? 'pay-1' : null,
    paymentAttempts: 1,
    lastError,
    duplicateCheckAt: null,
    createSentAt: '2026-12-03T10:00:00.120+00:00',
    createsSent: 1,
    createdAt: '2026-12-03T10:00:00.123456+00:00',
    updatedAt: '2026-12-03T10:01:00.5+00:00',
  });

  it('reads back as the order, its times as Dates at the millisecond a driver gives', () => {
    expect(orderFromJson(stored('paid', null))).toMatchObject({
      state: 'paid',
      ownerTokenSealed: null,
      createdAt: new Date('2026-12-03T10:00:00.123Z'),
      updatedAt: new Date('2026-12-03T10:01:00.500Z'),
      createSentAt: new Date('2026-12-03T10:00:00.120Z'),
      duplicateCheckAt: null,
    });
  });

  it('renders paid as 201 with the order, and a decline or an unknown payment as the error they were answered with', () => {
    expect(storedPaymentAnswer(stored('paid', null))).toMatchObject({
      status: 201,
      body: { status: 'paid', paymentId: 'pay-1', updatedAt: '2026-12-03T10:01:00.500Z' },
    });
    expect(() => storedPaymentAnswer(stored('declined', 'PAYMENT_DECLINED'))).toThrow(
      expect.objectContaining({ code: 'PAYMENT_DECLINED' }),
    );
    expect(() => storedPaymentAnswer(stored('unknown', 'PAYMENT_STATUS_UNKNOWN: timeout'))).toThrow(
      expect.objectContaining({ code: 'PAYMENT_STATUS_UNKNOWN', status: 502 }),
    );
  });
});
