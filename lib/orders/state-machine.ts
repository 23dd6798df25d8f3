/**
 * The ordering state machine. Every transition is applied by one conditional
 * SQL update (`… where state = any(from)`), so concurrent Lambdas, retries and
 * the reconciler can never run the same step twice.
 */
export type OrderState =
  | 'pending' // row written, upstream order not proven to exist
  | 'placed' // upstream order exists, not paid
  | 'paying' // a payment request is (or was, if we crashed) in flight
  | 'paid' // charged; completing the upstream order is left to the reconciler
  | 'completed'
  | 'declined' // the payment was declined; pay again
  | 'failed' // proved not placed, or abandoned unpaid; the basket is reopened
  | 'unknown' // a payment's outcome could not be proved; needs follow-up, never retried blindly
  | 'refunding'
  | 'refunded';

const TRANSITIONS: Record<OrderState, readonly OrderState[]> = {
  pending: ['placed', 'failed'],
  placed: ['paying', 'failed'],
  paying: ['paid', 'declined', 'placed', 'unknown'],
  declined: ['paying', 'failed'],
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
export const UNSETTLED_STATES: readonly OrderState[] = ['pending', 'placed', 'paying', 'paid', 'declined', 'refunding'];

/** States that hold the basket (locked); a failed order releases it, a completed one closes it. */
export function isTerminal(state: OrderState): boolean {
  return TRANSITIONS[state].length === 0;
}
