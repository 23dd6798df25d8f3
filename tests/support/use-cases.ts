import type { Caller } from '../../lib/auth';
import type { CheckoutOptions } from '../../lib/orders/checkout';
import type { SettlementOptions } from '../../lib/orders/settlement';

/** The options the order use-cases run with in the unit tests that drive them through in-memory ports. */
export const OPTIONS: CheckoutOptions & SettlementOptions = {
  retryAfterSeconds: 2,
  abandonedAfterMs: 60_000,
  paymentTimeoutMs: 1_000,
  paymentMinWindowMs: 500,
  completionLeaseMs: 5_000,
};

/** The caller those tests act as. */
export const CASHIER: Caller = { userId: 'cashier@example.com', token: 'token-of-the-cashier', roles: [] };
