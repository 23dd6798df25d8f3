import { provesNoEffect, type CallKind, type FailureOutcome } from './outcome';

/**
 * Whether one failed attempt may be repeated as is.
 * - Reads and idempotent writes (GET, PATCH to a status) repeat safely after any upstream fault.
 * - Creating an order or a payment, and refunding one, repeat only when the failure proves nothing
 *   was applied; after a timeout, a 500 or a dropped connection the caller must find out what happened
 *   instead (GET /orders/ for an order, GET /payments/{id} for a refund; nothing can prove a payment
 *   without its id, so never a blind retry).
 * - A call aborted, short-circuited by the breaker or left unsent for lack of time is never retried.
 */
export function isRetryable(kind: CallKind, outcome: FailureOutcome): boolean {
  if (outcome.type === 'aborted' || outcome.type === 'circuit_open' || outcome.type === 'not_sent') return false;
  switch (kind) {
    case 'read':
    case 'idempotent-write':
      return true;
    case 'create-order':
    case 'create-payment':
    case 'refund':
      return provesNoEffect(outcome);
  }
}
