import type { Order, PaymentOutcome } from './order';
import type { OrderState } from './state-machine';

export interface OpenOrderRequest {
  ownerId: string;
  basketId: string;
  orderId: string;
  idempotencyKey: string;
  /** The version of the basket whose lines were priced: the order is only opened if the basket is still at it. */
  basketVersion: number;
  /** The priced basket's gross total, integer minor units. */
  totalMinor: number;
  ownerTokenSealed: string;
}

export interface PaymentAttempt {
  id: string;
  orderId: string;
  amountMinor: number;
  /** Set once the upstream answered with a payment id (a pending payment is followed up by it). */
  upstreamPaymentId: string | null;
}

export interface RefundAttempt {
  id: string;
  orderId: string;
  paymentId: string;
  outcome: 'sending' | 'unknown' | 'refunded' | 'not_applied';
  updatedAt: Date;
}

export interface TransitionChanges {
  lastError?: string;
  upstreamOrderId?: string;
  /** A fresh sealed token of the owner, brought by the request making the transition. */
  ownerTokenSealed?: string;
  /** Check GET /orders/ for duplicates of this checkout after this many milliseconds. */
  duplicateCheckAfterMs?: number;
  /** Only if the order is unchanged since it was read (its updated_at), not merely in a `from` state. */
  unchangedSince?: Date;
  /** Also take the order's lease for this long: the step that follows ends it upstream. */
  leaseMs?: number;
}

export interface OrderPage {
  orders: Order[];
  /** Pass as `after` to get the next page; absent on the last page. */
  nextCursor?: string;
}

export interface OrderFilter {
  limit: number;
  after?: string;
  states?: readonly OrderState[];
  basketId?: string;
}

/** What an operator established outside the system about an order whose payment outcome was unknown. */
export interface Resolution {
  orderId: string;
  outcome: 'charged' | 'not_charged';
  paymentId: string | null;
  reason: string;
  resolvedBy: string;
  resolvedAt: Date;
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
 * `from` states (someone else moved it first). They leave the lease alone:
 * whoever took it releases it. Reaching a state at rest
 * erases the owner's sealed token (once no duplicate check is due).
 */
export interface OrderRepository {
  /**
   * One statement: locks the basket if it is still open at the version that
   * was priced, and writes the pending order with that total. Undefined when
   * the guard refuses (the basket changed, is locked, closed or gone).
   */
  open(request: OpenOrderRequest): Promise<Order | undefined>;
  find(ownerId: string, orderId: string): Promise<Order | undefined>;
  findById(orderId: string): Promise<Order | undefined>;
  /** The basket's order that still holds it (anything but failed), if any. */
  findLiveForBasket(ownerId: string, basketId: string): Promise<Order | undefined>;
  transition(orderId: string, from: readonly OrderState[], to: OrderState, changes?: TransitionChanges): Promise<Order | undefined>;
  /** Order → failed and its basket reopened, in one transaction. */
  failAndReopenBasket(orderId: string, from: readonly OrderState[], reason: string): Promise<Order | undefined>;
  /** Order paid → completed and its basket closed, in one transaction. */
  completeAndCloseBasket(orderId: string): Promise<Order | undefined>;
  /** Takes the order's lease for one step that ends it upstream; undefined while someone else holds it. */
  claimLease(orderId: string, leaseMs: number): Promise<Order | undefined>;
  releaseLease(orderId: string): Promise<void>;

  /** Order (placed|declined) → paying with a new payment attempt recorded, before the payment is sent. */
  startPayment(orderId: string, attemptId: string, ownerTokenSealed: string): Promise<{ order: Order; attempt: PaymentAttempt } | undefined>;
  /** The attempt in flight (sending, or answered pending) of an order in paying, if any. */
  paymentInFlight(orderId: string): Promise<PaymentAttempt | undefined>;
  /** The upstream accepted the payment as pending: its id is kept on the attempt and the order, which stays paying. */
  recordPendingPayment(attempt: PaymentAttempt, upstreamPaymentId: string): Promise<PaymentAttempt>;
  /** Records a payment attempt's outcome and moves the order out of paying accordingly. */
  finishPayment(attempt: PaymentAttempt, outcome: PaymentOutcome, upstreamPaymentId: string | null, lastError?: string): Promise<Order | undefined>;
  /** A payment abandoned without an id (its request died mid-flight): the attempt and the order become unknown. */
  markPaymentUnknown(orderId: string, reason: string): Promise<Order | undefined>;

  /** The refund attempt still open (sending, or unknown), if any. */
  openRefund(orderId: string): Promise<RefundAttempt | undefined>;
  /** Records a refund attempt before DELETE /payments/{id} is sent; undefined when one is already open. */
  startRefund(orderId: string, attemptId: string, paymentId: string): Promise<RefundAttempt | undefined>;
  /** Records what became of the attempt; 'refunded' also moves the order refunding → refunded. */
  finishRefund(attempt: RefundAttempt, outcome: RefundAttempt['outcome'], lastError?: string): Promise<Order | undefined>;

  /** The owner's orders, newest first (keyset by creation time and id). */
  listForOwner(ownerId: string, filter: OrderFilter): Promise<OrderPage>;
  /** Every user's orders that need a person: unknown, or unsettled and unchanged for longer than `stuckAfterMs`; newest first. */
  listNeedingAttention(filter: { limit: number; after?: string; stuckAfterMs: number }): Promise<OrderPage>;
  /**
   * One statement: records the resolution and moves the unknown order to paid
   * (charged; the payment id when given) or failing (not charged). Undefined
   * when the order is not unknown or already has a resolution.
   */
  resolve(resolution: Omit<Resolution, 'resolvedAt'>): Promise<Order | undefined>;
  findResolution(orderId: string): Promise<Resolution | undefined>;

  /** Leases up to `limit` orders the reconciler has work for (skipping rows another run holds). */
  claimForReconcile(claim: ReconcileClaim): Promise<Order[]>;
  /** The duplicate check is done (or not needed any more). */
  clearDuplicateCheck(orderId: string): Promise<void>;
  /**
   * For the reconciler's gauges: per unsettled state (and `unknown`) how many
   * orders, how long the least recently changed one has been idle, how long
   * the longest overdue one has been the reconciler's to settle, and how many
   * are overdue by more than `stuckAfterMs`. One grouped query.
   */
  healthByState(thresholds: HealthThresholds): Promise<Partial<Record<OrderState, StateHealth>>>;
}

export interface HealthThresholds {
  /** As ReconcileClaim: when pending/placed/paying and declined orders become the reconciler's. */
  abandonedAfterMs: number;
  declinedExpiryMs: number;
  /** Overdue by more than this, an order counts as stuck. */
  stuckAfterMs: number;
}

export interface StateHealth {
  count: number;
  /** Orders the reconciler should have settled more than `stuckAfterMs` ago. */
  stuck: number;
  /** Seconds since the least recently changed order changed. */
  oldestIdleSeconds: number;
  /** Seconds since the longest overdue order became the reconciler's to settle; 0 when none is due yet. */
  overdueSeconds: number;
}
