import type { Order, PaymentOutcome } from './order';
import type { OrderState } from './state-machine';

export interface OpenOrderRequest {
  ownerId: string;
  basketId: string;
  orderId: string;
  idempotencyKey: string;
  /** The basket version the cashier saw (If-Match); the order is refused if the basket changed since. */
  expectedBasketVersion?: number;
}

export interface PaymentAttempt {
  id: string;
  orderId: string;
  amountMinor: number;
}

export interface ReconcileClaim {
  /** Orders idle for at least this long in pending/placed/paying are treated as abandoned. */
  abandonedAfterMs: number;
  /** Declined orders nobody paid again within this long are failed and their basket reopened. */
  declinedExpiryMs: number;
  leaseMs: number;
  limit: number;
}

/**
 * Persistence of orders. Transitions are single guarded statements: they
 * return the updated order, or undefined when the order was not in one of the
 * `from` states (someone else moved it first).
 */
export interface OrderRepository {
  /**
   * One transaction: locks the open basket (guarded by owner, status and the
   * expected version), prices its lines and writes the pending order with the
   * basket total. Throws BASKET_NOT_FOUND / BASKET_LOCKED / BASKET_CLOSED /
   * VERSION_MISMATCH / BASKET_EMPTY.
   */
  open(request: OpenOrderRequest): Promise<Order>;
  find(ownerId: string, orderId: string): Promise<Order | undefined>;
  findById(orderId: string): Promise<Order | undefined>;
  /** The basket's order that still holds it (anything but failed), if any. */
  findLiveForBasket(ownerId: string, basketId: string): Promise<Order | undefined>;
  transition(orderId: string, from: readonly OrderState[], to: OrderState, changes?: { lastError?: string }): Promise<Order | undefined>;
  /** Order → failed and its basket reopened, in one transaction. */
  failAndReopenBasket(orderId: string, from: readonly OrderState[], reason: string): Promise<Order | undefined>;
  /** Order paid → completed and its basket closed, in one transaction. */
  completeAndCloseBasket(orderId: string): Promise<Order | undefined>;
  /** Order (placed|declined) → paying with a new payment attempt recorded, before the payment is sent. */
  startPayment(orderId: string, attemptId: string): Promise<{ order: Order; attempt: PaymentAttempt } | undefined>;
  /** Records a payment attempt's outcome and moves the order out of paying accordingly. */
  finishPayment(attempt: PaymentAttempt, outcome: PaymentOutcome, upstreamPaymentId: string | null, lastError?: string): Promise<Order | undefined>;
  /** An abandoned payment (its request died mid-flight): the attempt and the order become unknown. */
  markPaymentUnknown(orderId: string, reason: string): Promise<Order | undefined>;
  /** Leases up to `limit` unsettled orders to one reconciler run (skipping rows another run holds). */
  claimForReconcile(claim: ReconcileClaim): Promise<Order[]>;
  releaseLease(orderId: string): Promise<void>;
  countByState(): Promise<Record<string, number>>;
}
