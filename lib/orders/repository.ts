import type { KeyClaim } from '../idempotency/claim';
import type { Order, PaymentOutcome } from './order';
import type { OrderState, ReconcileThresholds } from './state-machine';

export interface OpenOrderRequest {
  ownerId: string;
  basketId: string;
  orderId: string;
  idempotencyKey: string;
  /** If-Match: the order is only opened if the basket is still at this version. */
  expectedBasketVersion?: number;
  ownerTokenSealed: string;
  /** The request's Idempotency-Key, taken by the same statement unless taken already (KeyNotTakenError when it cannot be). */
  key?: KeyClaim;
}

export interface StartPaymentOptions {
  /** The request's Idempotency-Key, taken by the same statement unless taken already (KeyNotTakenError when it cannot be). */
  key?: KeyClaim;
  /** Only the owner's order. */
  ownerId?: string;
  /**
   * pending → paying in one step: the upstream order is adopted (as TransitionChanges.upstreamOrderId
   * with checkDuplicates) and the payment recorded by the same statement.
   */
  adopting?: { upstreamOrderId: string; checkDuplicates: boolean };
}

export interface PaymentAttempt {
  id: string;
  orderId: string;
  /** 1 for the order's first attempt; only the order's latest attempt may move it. */
  number: number;
  amountMinor: number;
  /** Set once the upstream answered with a payment id (a pending payment is followed up by it). */
  upstreamPaymentId: string | null;
  /** When it was recorded, just before it was sent. */
  sentAt: Date;
}

export interface RefundAttempt {
  id: string;
  orderId: string;
  paymentId: string;
  outcome: 'sending' | 'unknown' | 'refunded' | 'not_applied';
  /** When it was recorded, just before DELETE /payments/{id} was sent. */
  sentAt: Date;
}

/** Who holds an order's lease: only they release it. */
export interface Lease {
  holder: string;
  ms: number;
}

export interface TransitionChanges {
  lastError?: string;
  upstreamOrderId?: string;
  /** A fresh sealed token of the owner, brought by the request making the transition. */
  ownerTokenSealed?: string;
  /**
   * Another order creation of this checkout may still land: check GET /orders/ for duplicates once the
   * late-effect window of the latest one has passed (nothing is scheduled when it already has). Adopting
   * an upstream order (upstreamOrderId) schedules it too whenever more than one create was recorded.
   */
  checkDuplicates?: boolean;
  /** Only if the order is unchanged since it was read (its updated_at), not merely in a `from` state. */
  unchangedSince?: Date;
  /** Also take the order's lease: the step that follows ends it upstream. */
  lease?: Lease;
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

/** The states a person may resolve an order from: its payment's outcome is unknown, or it is stuck. */
export type ResolvableState = 'unknown' | 'paying' | 'paid' | 'refunding';

/** What an operator established about an order that needs a person, checked against what the upstream shows. */
export interface Resolution {
  orderId: string;
  resolvedFrom: ResolvableState;
  /** charged: the customer paid; not_charged: nothing was taken; refunded: the money went back. */
  outcome: 'charged' | 'not_charged' | 'refunded';
  paymentId: string | null;
  reason: string;
  resolvedBy: string;
  resolvedAt: Date;
}

export interface ReconcileClaim extends ReconcileThresholds {
  lease: Lease;
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
   * One statement: locks the basket if it is open, has lines and is at the
   * expected version (when given), and writes the pending order at the total
   * the basket row holds for the version it is locked at (the sum of its
   * lines' gross, written with them). Undefined when the guard refuses (the
   * basket is empty, changed, locked, closed or gone).
   */
  open(request: OpenOrderRequest): Promise<Order | undefined>;
  find(ownerId: string, orderId: string): Promise<Order | undefined>;
  findById(orderId: string): Promise<Order | undefined>;
  /** The basket's order that still holds it (anything but failed), if any. */
  findLiveForBasket(ownerId: string, basketId: string): Promise<Order | undefined>;
  transition(orderId: string, from: readonly OrderState[], to: OrderState, changes?: TransitionChanges): Promise<Order | undefined>;
  /**
   * Records, before it is sent, one more POST /orders/ for a pending order (the first is recorded by
   * open()). Undefined when the order is no longer pending: it has been placed or failed meanwhile.
   */
  recordCreateSent(orderId: string): Promise<Order | undefined>;
  /**
   * Order → failed and its basket reopened, in one statement. `onlyIfCreatesSent`: only if no other
   * order creation than that many was recorded (none can still land). A creation that may still land
   * gets a duplicate check once its late-effect window has passed.
   */
  failAndReopenBasket(
    orderId: string,
    from: readonly OrderState[],
    reason: string,
    options?: { onlyIfCreatesSent?: number },
  ): Promise<Order | undefined>;
  /** Order paid → completed and its basket closed, in one statement; the lease goes with it. */
  completeAndCloseBasket(orderId: string): Promise<Order | undefined>;
  /** Takes the order's lease for one step that ends it upstream; undefined while someone else holds it. */
  claimLease(orderId: string, lease: Lease): Promise<Order | undefined>;
  /** Ends the lease, if `holder` still holds it. */
  releaseLease(orderId: string, holder: string): Promise<void>;

  /** Order (placed|declined) → paying with a new payment attempt recorded, before the payment is sent; see StartPaymentOptions. */
  startPayment(
    orderId: string,
    attemptId: string,
    ownerTokenSealed: string,
    options?: StartPaymentOptions,
  ): Promise<{ order: Order; attempt: PaymentAttempt } | undefined>;
  /** The attempt in flight (sending, or answered pending) of an order in paying, if any. */
  paymentInFlight(orderId: string): Promise<PaymentAttempt | undefined>;
  /** The order's latest payment attempt, whatever became of it. */
  latestPayment(orderId: string): Promise<(PaymentAttempt & { outcome: string }) | undefined>;
  /** The upstream accepted the payment as pending: its id is kept on the attempt and the order, which stays paying. */
  recordPendingPayment(attempt: PaymentAttempt, upstreamPaymentId: string): Promise<PaymentAttempt>;
  /**
   * Records what the upstream said of an attempt. Only the order's latest attempt moves the order: out
   * of paying while it is in flight, or out of unknown when its answer comes late. An answer to an
   * older attempt is kept on that attempt and changes nothing else. `answer`: when the order moves, the
   * same statement stores it as the request's answer for its Idempotency-Key (KeyClaim.answered).
   */
  finishPayment(
    attempt: PaymentAttempt,
    outcome: PaymentOutcome,
    upstreamPaymentId: string | null,
    lastError?: string,
    answer?: KeyClaim,
  ): Promise<Order | undefined>;
  /** The attempt was sent and nobody will hear its answer (its request died): it and the order become unknown, if it is still the one in flight and has no id. */
  markPaymentUnknown(attempt: PaymentAttempt, reason: string): Promise<Order | undefined>;

  /** The refund attempt still open (sending, or unknown), if any. */
  openRefund(orderId: string): Promise<RefundAttempt | undefined>;
  /** Records a refund attempt before DELETE /payments/{id} is sent; undefined when one is already open. */
  startRefund(orderId: string, attemptId: string, paymentId: string): Promise<RefundAttempt | undefined>;
  /** Records what became of the attempt, if it is still open; 'refunded' also moves the order refunding → refunded. */
  finishRefund(attempt: RefundAttempt, outcome: RefundAttempt['outcome'], lastError?: string): Promise<Order | undefined>;

  /** The owner's orders, newest first (keyset by creation time and id). */
  listForOwner(ownerId: string, filter: OrderFilter): Promise<OrderPage>;
  /** Every user's orders that need a person: unknown, or unsettled and unchanged for longer than `stuckAfterMs`; newest first. */
  listNeedingAttention(filter: { limit: number; after?: string; stuckAfterMs: number }): Promise<OrderPage>;
  /**
   * One statement: records the resolution and moves the order from `resolvedFrom` to `to` (with the
   * payment id when given). Undefined when the order has left that state or already has a resolution
   * from it.
   */
  resolve(resolution: Omit<Resolution, 'resolvedAt'>, to: OrderState): Promise<Order | undefined>;
  /** The order's resolutions, latest first. */
  findResolutions(orderId: string): Promise<Resolution[]>;

  /** Leases up to `limit` orders the reconciler has work for (skipping rows another run holds). */
  claimForReconcile(claim: ReconcileClaim): Promise<Order[]>;
  /** The duplicate check is done (or not needed any more). */
  clearDuplicateCheck(orderId: string): Promise<void>;
  /** Up to `limit` stored owner tokens sealed under one of `keyIds` (key rotation: the older keys). */
  tokensSealedUnder(keyIds: readonly string[], limit: number): Promise<Array<{ orderId: string; sealed: string }>>;
  /** Replaces a sealed token with the same token sealed again, if it is still the one stored. */
  replaceSealedToken(orderId: string, from: string, to: string): Promise<boolean>;
  /** How many stored owner tokens each key sealed: a key may be retired once it seals none. */
  sealedTokensByKey(): Promise<Record<string, number>>;
  /**
   * For the reconciler's gauges: per unsettled state (and `unknown`) how many
   * orders, how long the least recently changed one has been idle, how long
   * the longest overdue one has been the reconciler's to settle, and how many
   * are overdue by more than `stuckAfterMs`. One grouped query.
   */
  healthByState(thresholds: HealthThresholds): Promise<Partial<Record<OrderState, StateHealth>>>;
}

export interface HealthThresholds extends ReconcileThresholds {
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
