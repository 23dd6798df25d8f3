/**
 * The ordering state machine. Every transition is applied by one conditional
 * SQL update (`… where state = any(from)`), so concurrent Lambdas, retries and
 * the reconciler can never run the same step twice. The state lists below are
 * the only place they are spelled; SQL and the reconciler read them from here.
 */
export type OrderState =
  | 'pending' // row written, upstream order not proven to exist
  | 'placed' // upstream order exists (its id recorded), not paid
  | 'paying' // a payment request is (or was, if we crashed) in flight, or the upstream answered it 'pending'
  | 'paid' // charged; completing the upstream order is left to the reconciler
  | 'completed'
  | 'declined' // the payment was declined; pay again
  | 'failing' // claimed for failing upstream (PATCH failed): no request may pay it any more
  | 'failed' // proved not placed, or failed upstream; the basket is reopened
  | 'unknown' // a payment's outcome could not be proved; needs follow-up, never retried blindly
  | 'refunding'
  | 'refunded';

const TRANSITIONS: Record<OrderState, readonly OrderState[]> = {
  // failed straight from pending only when the upstream proved it holds no live order for the checkout
  // paying straight from pending when the order is adopted upstream and its payment recorded in one statement
  pending: ['placed', 'paying', 'failing', 'failed'],
  placed: ['paying', 'failing'],
  // failing: a person found that a payment stuck at the upstream never charged (lib/orders/resolutions.ts).
  paying: ['paid', 'declined', 'placed', 'unknown', 'failing'],
  declined: ['paying', 'failing'],
  failing: ['failed'],
  paid: ['completed'],
  completed: ['refunding'],
  // completed: a person found that the refund never went through.
  refunding: ['refunded', 'completed'],
  failed: [],
  // A late answer to the payment (paid, declined, or proof that nothing was sent: placed), or a person
  // who established the outcome: charged, or not charged (failing).
  unknown: ['paid', 'declined', 'placed', 'failing'],
  refunded: [],
};

export const ORDER_STATES = Object.keys(TRANSITIONS) as OrderState[];

export function canTransition(from: OrderState, to: OrderState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws on a transition the machine does not have: a programming error, not a race. */
export function assertTransitions(from: readonly OrderState[], to: OrderState): void {
  const invalid = from.filter((state) => !canTransition(state, to));
  if (invalid.length > 0) throw new Error(`Invalid order transition ${invalid.join('|')} → ${to}`);
}

/** States in which the reconciler still has work: everything not at rest. */
export const UNSETTLED_STATES: readonly OrderState[] = ['pending', 'placed', 'paying', 'paid', 'declined', 'failing', 'refunding'];

/** Unsettled states that only become the reconciler's once nobody has touched the order for a while. */
export const STATES_ABANDONED_WHEN_IDLE: readonly OrderState[] = ['pending', 'placed', 'paying'];

/** Unsettled states whose next step the reconciler takes at once: nothing a request would still do. */
export const STATES_SETTLED_AT_ONCE: readonly OrderState[] = ['paid', 'failing', 'refunding'];

/** States a request may still pay from. */
export const PAYABLE_STATES: readonly OrderState[] = ['placed', 'declined'];

/** States an unpaid order is failed from (through 'failing', which claims it first). */
export const FAILABLE_STATES: readonly OrderState[] = ['pending', 'placed', 'declined'];

/** The order took the money (or gave it back): its basket is closed for good. */
export const CHARGED_STATES: readonly OrderState[] = ['paid', 'completed', 'refunding', 'refunded'];

/** At rest for the background: nothing left to do upstream on the owner's behalf, so their token is erased. */
export const AT_REST_STATES: readonly OrderState[] = ['completed', 'failed', 'refunded'];

/** When the reconciler takes over orders that requests left idle. */
export interface ReconcileThresholds {
  /** Orders idle for at least this long in pending/placed/paying are treated as abandoned. */
  abandonedAfterMs: number;
  /** Declined orders nobody paid again within this long are failed and their basket reopened. */
  declinedExpiryMs: number;
}

/**
 * When the reconciler should settle an order in this state, last changed at
 * `updatedAt` (undefined: never by itself). claimForReconcile selects by the
 * same rule in SQL; an order claimed for another reason (its duplicate check)
 * is only settled once this says so.
 */
export function settleDueAt(state: OrderState, updatedAt: Date, thresholds: ReconcileThresholds): number | undefined {
  if (STATES_SETTLED_AT_ONCE.includes(state)) return updatedAt.getTime();
  if (STATES_ABANDONED_WHEN_IDLE.includes(state)) return updatedAt.getTime() + thresholds.abandonedAfterMs;
  if (state === 'declined') return updatedAt.getTime() + thresholds.declinedExpiryMs;
  return undefined;
}

/** States no step leads out of. */
export function isTerminal(state: OrderState): boolean {
  return TRANSITIONS[state].length === 0;
}

/** What an order means for the customer's money, as the API shows it. */
export type PaymentState = 'not_charged' | 'in_progress' | 'charged' | 'declined' | 'unknown' | 'refunded';

/** What a terminal may do next with an order (docs/api.md, Orders). */
export type NextAction = 'retry_checkout' | 'pay' | 'cancel' | 'wait' | 'refund' | 'ask_operator';

const FOR_THE_TERMINAL: Record<OrderState, { payment: PaymentState; next: readonly NextAction[] }> = {
  pending: { payment: 'not_charged', next: ['retry_checkout', 'pay', 'cancel'] },
  placed: { payment: 'not_charged', next: ['pay', 'cancel'] },
  paying: { payment: 'in_progress', next: ['wait'] },
  paid: { payment: 'charged', next: ['refund'] },
  completed: { payment: 'charged', next: ['refund'] },
  declined: { payment: 'declined', next: ['pay', 'cancel'] },
  failing: { payment: 'not_charged', next: ['wait'] },
  failed: { payment: 'not_charged', next: [] },
  unknown: { payment: 'unknown', next: ['ask_operator'] },
  refunding: { payment: 'charged', next: ['wait'] },
  refunded: { payment: 'refunded', next: [] },
};

export const paymentStateOf = (state: OrderState): PaymentState => FOR_THE_TERMINAL[state].payment;

/** A refund needs the upstream payment's id: an order an operator resolved as charged without one cannot be refunded here. */
export function nextActionsOf(state: OrderState, hasPaymentId: boolean): NextAction[] {
  return FOR_THE_TERMINAL[state].next.filter((action) => action !== 'refund' || hasPaymentId);
}

export const PAYMENT_STATES = [...new Set(Object.values(FOR_THE_TERMINAL).map((entry) => entry.payment))];
export const NEXT_ACTIONS: readonly NextAction[] = ['retry_checkout', 'pay', 'cancel', 'wait', 'refund', 'ask_operator'];
