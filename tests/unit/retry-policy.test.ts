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
  const table: Array<[CallKind, FailureOutcome, boolean]> = [
    ['read', s(503), true],
    ['read', s(500), true],
    ['read', s(502), true],
    ['read', timeout, true],
    ['read', connectionLost, true],
    ['read', connectFailed, true],
    ['read', aborted, false],
    ['read', circuitOpen, false],
    ['read', notSent, false],
    ['idempotent-write', s(500), true],
    ['idempotent-write', timeout, true],
    ['create-order', u(503), true],
    ['create-order', s(429), false],
    ['create-payment', s(429), false],
    ['refund', s(429), false],
    ['create-order', s(503), false],
    ['create-order', connectFailed, true],
    ['create-order', s(500), false],
    ['create-order', timeout, false],
    ['create-order', connectionLost, false],
    ['create-order', aborted, false],
    ['create-payment', u(503), true],
    ['create-payment', s(503), false],
    ['create-payment', connectFailed, true],
    ['create-payment', s(500), false],
    ['create-payment', s(502), false],
    ['create-payment', timeout, false],
    ['create-payment', connectionLost, false],
    ['create-payment', aborted, false],
    ['create-payment', circuitOpen, false],
    ['create-payment', notSent, false],
    ['refund', u(503), true],
    ['refund', connectFailed, true],
    ['refund', s(503), false],
    ['refund', s(500), false],
    ['refund', timeout, false],
    ['refund', connectionLost, false],
    ['read', u(503), true],
    ['idempotent-write', s(503), true],
  ];

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
