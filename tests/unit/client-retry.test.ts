import { delayBefore, PosTransportError, verdictFor, type Answer, type Safety } from '../../client/src';
import { Budget, untilDecided } from '../../client/src/retry';
import { mulberry32 as seeded } from '../../dev/simulator/random';

/**
 * The client's retry policy as a table: for each kind of request, which
 * results it sends again (and why), and which it takes as the answer. The
 * scenarios through the whole client are in client.test.ts.
 */

function answer(status: number, code?: string, retryAfterMs?: number): Answer {
  return {
    status,
    headers: new Headers(),
    body: code ? { error: { code, message: code } } : status < 300 ? { id: 'x' } : undefined,
    retryAfterMs,
    replayed: false,
  };
}

const lost = new PosTransportError('network', 'socket hang up');
const timedOut = new PosTransportError('timeout', 'no answer within 100 ms');
const aborted = new PosTransportError('aborted', 'the caller aborted');
const refused = new PosTransportError('network', 'ECONNREFUSED', { notSent: true });

type Result = Answer | PosTransportError;
const label = (result: Result) =>
  result instanceof PosTransportError
    ? `${result.reason}${result.notSent ? ' (not sent)' : ''}`
    : `${result.status}${(result.body as any)?.error ? ` ${(result.body as any).error.code}` : ''}`;

const RESULTS: Result[] = [
  answer(200),
  answer(201),
  answer(202, undefined, 2000),
  answer(204),
  answer(400, 'VALIDATION_FAILED'),
  answer(401, 'UNAUTHENTICATED'),
  answer(402, 'PAYMENT_DECLINED'),
  answer(404, 'ORDER_NOT_FOUND'),
  answer(409, 'BASKET_LOCKED'),
  answer(409, 'ORDER_STATE_CONFLICT'),
  answer(409, 'REQUEST_IN_PROGRESS', 1000),
  answer(412, 'VERSION_MISMATCH'),
  answer(422, 'IDEMPOTENCY_KEY_REUSED'),
  answer(429, 'THROTTLED', 1000),
  answer(429),
  answer(500, 'INTERNAL'),
  answer(502, 'PAYMENT_STATUS_UNKNOWN'),
  answer(502, 'UPSTREAM_ERROR'),
  answer(502),
  answer(503, 'UPSTREAM_UNAVAILABLE', 1000),
  answer(503, 'SERVICE_UNAVAILABLE', 1000),
  answer(504, 'UPSTREAM_TIMEOUT', 1000),
  lost,
  timedOut,
  aborted,
  refused,
];

/** What each kind of request does with each result: the reason it is sent again, or `answer`. */
const EXPECTED: Record<string, Record<Safety | 'same-key, following 202', string>> = {
  '200': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '201': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '202': { 'same-key': 'answer', 'same-key, following 202': 'payment pending', idempotent: 'answer', once: 'answer' },
  '204': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '400 VALIDATION_FAILED': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '401 UNAUTHENTICATED': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '402 PAYMENT_DECLINED': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '404 ORDER_NOT_FOUND': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '409 BASKET_LOCKED': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '409 ORDER_STATE_CONFLICT': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '409 REQUEST_IN_PROGRESS': {
    'same-key': 'in progress',
    'same-key, following 202': 'in progress',
    idempotent: 'in progress',
    once: 'in progress',
  },
  '412 VERSION_MISMATCH': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '422 IDEMPOTENCY_KEY_REUSED': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '429 THROTTLED': { 'same-key': 'throttled', 'same-key, following 202': 'throttled', idempotent: 'throttled', once: 'throttled' },
  '429': { 'same-key': 'throttled', 'same-key, following 202': 'throttled', idempotent: 'throttled', once: 'throttled' },
  '500 INTERNAL': { 'same-key': 'server error', 'same-key, following 202': 'server error', idempotent: 'server error', once: 'answer' },
  '502 PAYMENT_STATUS_UNKNOWN': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '502 UPSTREAM_ERROR': { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  '502': { 'same-key': 'server error', 'same-key, following 202': 'server error', idempotent: 'server error', once: 'answer' },
  '503 UPSTREAM_UNAVAILABLE': {
    'same-key': 'unavailable',
    'same-key, following 202': 'unavailable',
    idempotent: 'unavailable',
    once: 'answer',
  },
  '503 SERVICE_UNAVAILABLE': {
    'same-key': 'unavailable',
    'same-key, following 202': 'unavailable',
    idempotent: 'unavailable',
    once: 'answer',
  },
  '504 UPSTREAM_TIMEOUT': {
    'same-key': 'unavailable',
    'same-key, following 202': 'unavailable',
    idempotent: 'unavailable',
    once: 'answer',
  },
  network: { 'same-key': 'no answer', 'same-key, following 202': 'no answer', idempotent: 'no answer', once: 'answer' },
  timeout: { 'same-key': 'no answer', 'same-key, following 202': 'no answer', idempotent: 'no answer', once: 'answer' },
  aborted: { 'same-key': 'answer', 'same-key, following 202': 'answer', idempotent: 'answer', once: 'answer' },
  'network (not sent)': { 'same-key': 'not sent', 'same-key, following 202': 'not sent', idempotent: 'not sent', once: 'not sent' },
};

describe('the client retry policy (verdictFor)', () => {
  it('sends again exactly what is safe and undecided, and takes everything else as the answer', () => {
    const actual = Object.fromEntries(
      RESULTS.map((result) => {
        const row = (safety: Safety, followPending = false) => {
          const verdict = verdictFor(result, safety, { followPending });
          return verdict.retry ? verdict.why : 'answer';
        };
        return [
          label(result),
          {
            'same-key': row('same-key'),
            'same-key, following 202': row('same-key', true),
            idempotent: row('idempotent'),
            once: row('once'),
          },
        ];
      }),
    );
    expect(actual).toEqual(EXPECTED);
  });

  it('never sends a decline or an unknown payment again, whatever the request', () => {
    for (const safety of ['same-key', 'idempotent', 'once'] as Safety[])
      for (const result of [answer(402, 'PAYMENT_DECLINED'), answer(502, 'PAYMENT_STATUS_UNKNOWN')])
        expect(verdictFor(result, safety, { followPending: true }).retry).toBe(false);
  });

  it('passes Retry-After on to the wait', () => {
    expect(verdictFor(answer(503, 'UPSTREAM_UNAVAILABLE', 3000), 'same-key')).toEqual({ retry: true, why: 'unavailable', afterMs: 3000 });
    expect(verdictFor(answer(202, undefined, 2000), 'same-key', { followPending: true })).toEqual({
      retry: true,
      why: 'payment pending',
      afterMs: 2000,
    });
  });
});

describe('the wait before a retry (delayBefore)', () => {
  const timing = { baseDelayMs: 200, maxDelayMs: 5000, random: seeded(7) };

  it('is at least what Retry-After asks, plus a jitter of at most a quarter of it (and of the base)', () => {
    for (let i = 0; i < 200; i++) {
      const wait = delayBefore(1 + (i % 5), { afterMs: 1000 }, timing);
      expect(wait).toBeGreaterThanOrEqual(1000);
      expect(wait).toBeLessThanOrEqual(1200);
    }
    expect(delayBefore(1, { afterMs: 0 }, timing)).toBe(0);
  });

  it('without Retry-After, is a random share of an exponentially growing ceiling, capped', () => {
    const waits = (retry: number) => Array.from({ length: 300 }, () => delayBefore(retry, {}, timing));
    for (const [retry, ceiling] of [
      [1, 200],
      [2, 400],
      [3, 800],
      [6, 5000],
      [30, 5000],
    ]) {
      const sample = waits(retry);
      expect(Math.max(...sample)).toBeLessThanOrEqual(ceiling);
      // Full jitter: spread over the whole range, not bunched at the ceiling.
      expect(Math.min(...sample)).toBeLessThan(ceiling * 0.1);
      expect(Math.max(...sample)).toBeGreaterThan(ceiling * 0.9);
    }
  });
});

describe('the loop (untilDecided)', () => {
  function fakeTime() {
    let now = 0;
    return {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
      advance: (ms: number) => (now += ms),
    };
  }

  it('stops without waiting when the wait would outlast the budget, and says why it was undecided', async () => {
    const time = fakeTime();
    const budget = new Budget(time.now, 1050);
    const timing = { attemptTimeoutMs: 1000, baseDelayMs: 100, maxDelayMs: 1000, random: seeded(1), now: time.now, sleep: time.sleep };
    const sent: number[] = [];
    const run = await untilDecided(
      async (timeoutMs) => {
        sent.push(timeoutMs);
        return answer(503, 'UPSTREAM_UNAVAILABLE', 1000);
      },
      (result) => verdictFor(result, 'same-key'),
      timing,
      budget,
    );
    expect(run).toMatchObject({ attempts: 1, undecided: 'unavailable', retries: [] });
    expect(time.now()).toBe(0);
    expect(sent).toEqual([1000]);
  });

  it('gives each attempt at most what is left of the budget, and sends nothing once it is spent', async () => {
    const time = fakeTime();
    const budget = new Budget(time.now, 2500);
    const timing = { attemptTimeoutMs: 2000, baseDelayMs: 100, maxDelayMs: 100, random: () => 1, now: time.now, sleep: time.sleep };
    const sent: number[] = [];
    const run = await untilDecided(
      async (timeoutMs) => {
        sent.push(timeoutMs);
        time.advance(timeoutMs);
        throw timedOut;
      },
      (result) => verdictFor(result, 'same-key'),
      timing,
      budget,
    );
    expect(sent).toEqual([2000, 400]);
    expect(run).toMatchObject({ attempts: 2, undecided: 'no answer', retries: ['no answer'], earlierAmbiguous: true });

    const spent = await untilDecided(
      async () => answer(201),
      (result) => verdictFor(result, 'same-key'),
      timing,
      budget,
    );
    expect(spent.attempts).toBe(0);
    expect(spent.last).toBeInstanceOf(PosTransportError);
  });
});
