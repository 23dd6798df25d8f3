import { provesNoEffect, statusFailure, type CallKind, type FailureOutcome } from '../../lib/upstream/outcome';
import { isRetryable } from '../../lib/upstream/retry-policy';

const s = (status: number): FailureOutcome => ({ type: 'status', status });
/** A 503 read (by the configured policy) as coming before any effect. */
const u = (status: number): FailureOutcome => ({ type: 'unavailable', status });
const timeout: FailureOutcome = { type: 'timeout' };
const connectFailed: FailureOutcome = { type: 'connect_failed' };
const connectionLost: FailureOutcome = { type: 'connection_lost' };
const aborted: FailureOutcome = { type: 'aborted' };
const circuitOpen: FailureOutcome = { type: 'circuit_open' };
const notSent: FailureOutcome = { type: 'not_sent' };

describe('which failed upstream calls may be retried', () => {
  /** For each kind of call, the failures it is retried after and those it is not. */
  const policy: Record<CallKind, { retried: FailureOutcome[]; notRetried: FailureOutcome[] }> = {
    read: {
      retried: [s(503), s(500), s(502), timeout, connectionLost, connectFailed, u(503)],
      notRetried: [aborted, circuitOpen, notSent],
    },
    'idempotent-write': { retried: [s(500), timeout, s(503)], notRetried: [] },
    'create-order': { retried: [u(503), connectFailed], notRetried: [s(429), s(503), s(500), timeout, connectionLost, aborted] },
    'create-payment': {
      retried: [u(503), connectFailed],
      notRetried: [s(429), s(503), s(500), s(502), timeout, connectionLost, aborted, circuitOpen, notSent],
    },
    refund: { retried: [u(503), connectFailed], notRetried: [s(429), s(503), s(500), timeout, connectionLost] },
  };
  type Row = [CallKind, FailureOutcome, boolean];
  const table = Object.entries(policy).flatMap(([kind, { retried, notRetried }]): Row[] => [
    ...retried.map((outcome): Row => [kind as CallKind, outcome, true]),
    ...notRetried.map((outcome): Row => [kind as CallKind, outcome, false]),
  ]);

  it.each(table)('%s after %o → retry %p', (kind, outcome, expected) => {
    expect(isRetryable(kind, outcome)).toBe(expected);
  });

  it('treats only refusals before sending and a 503 read as before-effect as proof that nothing was applied', () => {
    expect([connectFailed, notSent, circuitOpen, u(503)].every(provesNoEffect)).toBe(true);
    expect([timeout, connectionLost, aborted, s(429), s(500), s(502), s(503), s(504)].some(provesNoEffect)).toBe(false);
  });
});

describe('which statuses fail a call, and which of them prove no effect', () => {
  it.each([
    [503, true, u(503)],
    [503, false, s(503)],
    // The contract documents no 429: it proves nothing, whatever the reading of 503.
    [429, true, s(429)],
    [429, false, s(429)],
    [500, true, s(500)],
    [504, true, s(504)],
  ])('%i with "503 means no effect" %p → %o', (status, unavailableMeansNoEffect, expected) => {
    expect(statusFailure(status, unavailableMeansNoEffect)).toEqual(expected);
  });

  it.each([200, 201, 402, 404, 408, 409, 422, 425])('%i is an answer for the call to read, not a failure', (status) => {
    expect(statusFailure(status, true)).toBeUndefined();
  });
});
