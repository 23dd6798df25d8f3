import type { PosApiError, PosTransportError } from './errors.js';
import type { RetryReason } from './retry.js';
import type { Order } from './types.js';

/** The order operations: each answers an Outcome, never a status code to interpret. */
export type Operation = 'checkout' | 'prepare' | 'pay' | 'cancel' | 'refund';

/**
 * An operation as it can be run again exactly as it was: the same request
 * under the same Idempotency-Key. Plain data: a terminal may keep it (in
 * local storage, say) and resume after a restart with PosClient.resume().
 */
export interface Resumable {
  operation: Operation;
  /** The basket (checkout, prepare) or the order (pay, cancel, refund). */
  id: string;
  /** The Idempotency-Key of checkout, prepare and pay: reused on every retry of the operation, never for another. */
  key?: string;
  /** The basket version a checkout or prepare was meant for. */
  ifMatch?: number;
}

interface Common {
  /** What happened and what to do next, for the cashier. */
  message: string;
  /** The operation, as it can be run again (resume) under the same key. */
  resume: Resumable;
  /** Requests the operation sent (the first and its retries; not the reads of the order after). */
  attempts: number;
  /** Why each retry was made, in order. */
  retries: RetryReason[];
  /** The final answer was the stored one of an earlier request with the same key (a retry after a lost answer, say). */
  replayed: boolean;
  /** The x-request-id of the final answer, to quote to support. */
  requestId?: string;
}

/** Charged, exactly once: `order.total` minor units. Done. */
export interface Paid extends Common {
  kind: 'paid';
  order: Order;
  orderId: string;
}

/** prepare(): the order is created upstream and the basket locked; nothing charged. Next: pay(orderId) or cancel(orderId). */
export interface Prepared extends Common {
  kind: 'prepared';
  order: Order;
  orderId: string;
}

/**
 * The payment was declined: nothing charged, the order kept and the basket
 * locked. Never retried: paying again is the customer's decision, a new call
 * to pay(orderId) (under a new key); or cancel(orderId).
 */
export interface Declined extends Common {
  kind: 'declined';
  orderId: string;
  /** The order as read after the answer (absent when it could not be read within the budget). */
  order?: Order;
  error?: PosApiError;
}

/**
 * The payment may or may not have charged (it timed out, was cut off, or the
 * upstream failed). Not a failure, and never paid again: ask a supervisor,
 * who settles the order with the payment provider (an operator's
 * resolution); a late answer may still settle it.
 */
export interface Unknown extends Common {
  kind: 'unknown';
  /** The order (the service always names it). */
  orderId?: string;
  order?: Order;
  error?: PosApiError;
}

/**
 * Nothing charged, and the order is cancelled: by cancel(), or because the
 * upstream refused or cancelled it. The basket is open again (or reopens
 * shortly): check it out again, as a new checkout.
 */
export interface Cancelled extends Common {
  kind: 'cancelled';
  orderId?: string;
  order?: Order;
  error?: PosApiError;
}

/** refund(): the money went back to the customer. */
export interface Refunded extends Common {
  kind: 'refunded';
  order: Order;
  orderId: string;
}

/**
 * The service refused the request: nothing was charged by it. `error.code`
 * says why (BASKET_EMPTY, VERSION_MISMATCH, ORDER_NOT_FOUND,
 * UNAUTHENTICATED, …); fix that and start a new operation.
 */
export interface Refused extends Common {
  kind: 'refused';
  error: PosApiError;
  orderId?: string;
  order?: Order;
}

/** Why an operation ended undecided. */
export type PendingReason = RetryReason | 'aborted' | 'order in flight';

/**
 * The budget ran out (or the caller aborted) before an answer decided
 * anything: what became of the operation is not known to the client. It may
 * still finish on the service; nothing is lost. Resume it with
 * `pos.resume(outcome.resume)` (the same request, the same key) to learn
 * the outcome: it never pays twice. Do not start another checkout of the
 * basket meanwhile.
 */
export interface RetryLater extends Common {
  kind: 'retry-later';
  reason: PendingReason;
  /** The key to resume with (checkout, prepare, pay): the same as resume.key. */
  key?: string;
  orderId?: string;
  /** The order when the last answer carried it (a 202: the payment is pending). */
  order?: Order;
  /** What the service asked to wait (Retry-After), when it did. */
  retryAfterMs?: number;
  /** The last answer or failure. */
  cause?: PosApiError | PosTransportError;
}

/** What an order operation came to. `kind` says what happened to the money; every kind names the order when there is one. */
export type Outcome = Paid | Prepared | Declined | Unknown | Cancelled | Refunded | Refused | RetryLater;

export type OutcomeKind = Outcome['kind'];
