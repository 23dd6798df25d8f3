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
  pending: ['placed', 'failing', 'failed'],
  placed: ['paying', 'failing'],
  paying: ['paid', 'declined', 'placed', 'unknown'],
  declined: ['paying', 'failing'],
  failing: ['failed'],
  paid: ['completed'],
  completed: ['refunding'],
  refunding: ['refunded'],
  failed: [],
  unknown: [],
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

/** States that hold the basket (locked); a failed order releases it, a completed one closes it. */
export function isTerminal(state: OrderState): boolean {
  return TRANSITIONS[state].length === 0;
}
