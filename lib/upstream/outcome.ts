import { CallFailedError, type CallFailure } from '../call';

/**
 * What became of one upstream attempt that did not produce a usable answer.
 * The distinction that matters is whether the upstream may have applied the
 * change: `connect_failed`, `not_sent` (no time left to send), `circuit_open`
 * and `unavailable` prove it did not; a timeout, a dropped connection or a
 * 5xx status do not.
 */
export type FailureOutcome =
  /** A 503 that, by the configured reading of the contract, comes before any effect. */
  | { type: 'unavailable'; status: number }
  | { type: 'status'; status: number }
  | { type: 'timeout' }
  | { type: 'connect_failed' }
  | { type: 'connection_lost' }
  | { type: 'aborted' }
  | { type: 'circuit_open' }
  | { type: 'not_sent' };

/**
 * How safe a call is to repeat, which decides whether it may be retried.
 * `create-order`, `create-payment` and `refund` change money or create records
 * and are repeated only on proof that the attempt had no effect.
 */
export type CallKind = 'read' | 'idempotent-write' | 'create-order' | 'create-payment' | 'refund';

/** A failed attempt (or run of attempts) of one HTTP call, in the terms the ports speak (CallFailedError). */
export class UpstreamCallError extends CallFailedError {
  constructor(
    readonly outcome: FailureOutcome,
    readonly method: string,
    readonly path: string,
  ) {
    super(callFailureOf(outcome), `Upstream ${method} ${path} failed: ${describeOutcome(outcome)}`);
    this.name = 'UpstreamCallError';
  }
}

/**
 * What an outcome tells the use-cases: whether it proves nothing was applied,
 * and what the caller is told (a 503 or 429 says "unavailable" even when it
 * proves nothing, as the contract documents no other meaning for them).
 */
export function callFailureOf(outcome: FailureOutcome): CallFailure {
  const detail = describeOutcome(outcome);
  const effect = provesNoEffect(outcome) ? 'none' : 'unknown';
  switch (outcome.type) {
    case 'timeout':
    case 'aborted':
      return { effect, reason: 'timeout', detail };
    case 'unavailable':
    case 'circuit_open':
    case 'connect_failed':
    case 'not_sent':
      return { effect, reason: 'unavailable', detail };
    case 'status':
      return { effect, reason: outcome.status === 503 || outcome.status === 429 ? 'unavailable' : 'error', detail };
    case 'connection_lost':
      return { effect, reason: 'connection_lost', detail };
  }
}

export function describeOutcome(outcome: FailureOutcome): string {
  return outcome.type === 'status' || outcome.type === 'unavailable' ? `status ${outcome.status}` : outcome.type;
}

/**
 * How a status the upstream answered fails the call: every 5xx and 429 is a
 * failure, and only a 503 may prove that nothing was applied, by the
 * configured reading of the contract (the one status it documents as
 * "unavailable"). Anything else is an answer for the call's own mapping
 * (undefined).
 */
export function statusFailure(status: number, unavailableMeansNoEffect: boolean): FailureOutcome | undefined {
  if (status < 500 && status !== 429) return undefined;
  return status === 503 && unavailableMeansNoEffect ? { type: 'unavailable', status } : { type: 'status', status };
}

/** True when the outcome proves the upstream did not apply the request. */
export function provesNoEffect(outcome: FailureOutcome): boolean {
  return (
    outcome.type === 'connect_failed' || outcome.type === 'not_sent' || outcome.type === 'circuit_open' || outcome.type === 'unavailable'
  );
}

/** Failures that count against the circuit breaker: the upstream is unwell, not the request wrong. */
export function countsAsUpstreamFault(outcome: FailureOutcome): boolean {
  return outcome.type !== 'aborted' && outcome.type !== 'circuit_open' && outcome.type !== 'not_sent';
}

/** The failure was a wait that ran out (ours or the caller's), as opposed to an answer or a broken connection. */
export function isTimeout(outcome: FailureOutcome): boolean {
  return outcome.type === 'timeout' || outcome.type === 'aborted';
}
