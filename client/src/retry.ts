import { errorOf, PosTransportError } from './errors.js';
import type { Answer } from './http.js';

/**
 * How safe it is to send a request again after an answer that decided
 * nothing, or none at all.
 */
export type Safety =
  /**
   * A POST with an Idempotency-Key (checkout, prepare, pay). The service runs
   * it at most once per key: a retry with the same key replays the first final
   * answer, or resumes the work from what was recorded. Sending it again with
   * the same key is always safe; with another key it never is, so a retry
   * never changes the key.
   */
  | 'same-key'
  /** GET, PUT, DELETE, and the refund POST, which the API defines as idempotent: sending it twice does what sending it once does. */
  | 'idempotent'
  /**
   * Anything else (POST /baskets). Sent again only when it provably never
   * reached a handler: the connection was refused, or the gateway throttled it.
   */
  | 'once';

export type Verdict = { retry: false } | { retry: true; why: RetryReason; afterMs?: number };

export type RetryReason =
  /** 202: the upstream has the payment pending; the same key follows it up (it never pays again). */
  | 'payment pending'
  /** 409 REQUEST_IN_PROGRESS: the same key (or the order's refund) is still running. */
  | 'in progress'
  /** 429: too many requests at once; nothing ran. */
  | 'throttled'
  /** 503, 504: nothing decided; the service asks to come back (Retry-After). */
  | 'unavailable'
  /** 500, or a 502 that is not the service's own answer: nothing was stored for the key, which is free again. */
  | 'server error'
  /** No answer at all (a cut connection, a timeout): whether the service acted is unknown. */
  | 'no answer'
  /** The connection was never made: nothing was sent. */
  | 'not sent';

/**
 * 502 answers that are the service's final word (stored for the key and
 * replayed as they are): the payment's outcome is unknown, or the upstream
 * refused. Asking again cannot change them.
 */
const FINAL_502_CODES = new Set(['PAYMENT_STATUS_UNKNOWN', 'UPSTREAM_ERROR']);

/**
 * Whether to send the request again after this result, and how soon at the
 * earliest. The whole retry policy of the client is this function:
 *
 * - a 2xx is final, except a paying call's 202 (the payment is pending):
 *   followed up with the same key after Retry-After;
 * - 402 (declined) and every other 4xx are final: a refusal does not change
 *   by asking again, and paying again after a decline is a new operation
 *   with a new key, the caller's decision;
 * - 409 REQUEST_IN_PROGRESS and 429 are waited out (Retry-After), whatever
 *   the safety: nothing ran;
 * - 502 PAYMENT_STATUS_UNKNOWN and 502 UPSTREAM_ERROR are final: the first
 *   may have charged and must never be paid again blindly; the second is a
 *   refusal;
 * - any other 5xx, and no answer, are retried only where that is safe: with
 *   the same Idempotency-Key, or an idempotent request; a request that is
 *   neither only when it was provably never sent.
 */
export function verdictFor(result: Answer | PosTransportError, safety: Safety, options: { followPending?: boolean } = {}): Verdict {
  if (result instanceof PosTransportError) {
    if (result.reason === 'aborted') return { retry: false };
    if (result.notSent) return { retry: true, why: 'not sent' };
    return safety === 'once' ? { retry: false } : { retry: true, why: 'no answer' };
  }
  const { status } = result;
  const code = errorOf(result.body)?.code;
  const after = result.retryAfterMs;
  if (status === 202 && options.followPending) return { retry: true, why: 'payment pending', afterMs: after };
  if (status < 400) return { retry: false };
  if (status === 429) return { retry: true, why: 'throttled', afterMs: after };
  if (status === 409 && code === 'REQUEST_IN_PROGRESS') return { retry: true, why: 'in progress', afterMs: after };
  if (status < 500) return { retry: false };
  if (safety === 'once') return { retry: false };
  if (status === 502 && code !== undefined && FINAL_502_CODES.has(code)) return { retry: false };
  if (status === 503 || status === 504) return { retry: true, why: 'unavailable', afterMs: after };
  return { retry: true, why: 'server error', afterMs: after };
}

export interface RetryTiming {
  /** Longest one request may wait for its answer (never more than what is left of the budget). */
  attemptTimeoutMs: number;
  /** Backoff without Retry-After: a random wait of up to baseDelayMs · 2^(retry − 1), at most maxDelayMs ("full jitter"). */
  baseDelayMs: number;
  maxDelayMs: number;
  random: () => number;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** No request is started with less than this left of the budget: it could not get an answer. */
export const MIN_ATTEMPT_MS = 100;

/**
 * How long to wait before retry number `retry` (1 for the first): what
 * Retry-After asks for plus a little jitter, so terminals told the same do
 * not come back at once; without it exponential backoff with full jitter.
 */
export function delayBefore(
  retry: number,
  verdict: { afterMs?: number },
  timing: Pick<RetryTiming, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
): number {
  if (verdict.afterMs !== undefined) return verdict.afterMs + timing.random() * Math.min(timing.baseDelayMs, verdict.afterMs / 4);
  const ceiling = Math.min(timing.maxDelayMs, timing.baseDelayMs * 2 ** (retry - 1));
  return timing.random() * ceiling;
}

/** A deadline: the budget of one operation, shared by its requests, its waits and the reads that follow them. */
export class Budget {
  readonly deadline: number;

  constructor(
    private readonly now: () => number,
    budgetMs: number,
    readonly signal?: AbortSignal,
  ) {
    this.deadline = now() + budgetMs;
  }

  remainingMs(): number {
    return this.deadline - this.now();
  }

  /** Whether there is time (and the caller still wants) to send another request. */
  canSend(): boolean {
    return !this.signal?.aborted && this.remainingMs() >= MIN_ATTEMPT_MS;
  }
}

export interface Run {
  /** The last answer, or the last failure to get one. */
  last: Answer | PosTransportError;
  /** Requests sent. */
  attempts: number;
  /**
   * Set when nothing is decided: the last result asked for a retry (for this
   * reason), but the budget ran out, or the caller aborted, first.
   */
  undecided?: RetryReason;
  /** Some request before the last got no answer or a 5xx: it may have been applied. */
  earlierAmbiguous: boolean;
  /** Why each retry was made, in order. */
  retries: RetryReason[];
}

/**
 * Sends the request (`attempt`, given the time it may take) until an answer
 * decides something or the budget runs out, waiting between tries as
 * delayBefore() says. The request is the same every time, Idempotency-Key
 * included: the caller builds it once.
 */
export async function untilDecided(
  attempt: (timeoutMs: number) => Promise<Answer>,
  decide: (result: Answer | PosTransportError) => Verdict,
  timing: RetryTiming,
  budget: Budget,
): Promise<Run> {
  const retries: RetryReason[] = [];
  if (!budget.canSend()) {
    const reason = budget.signal?.aborted ? 'aborted' : 'timeout';
    return {
      last: new PosTransportError(reason, 'Not sent: no time was left', { notSent: true }),
      attempts: 0,
      earlierAmbiguous: false,
      retries,
    };
  }
  let earlierAmbiguous = false;
  for (let attempts = 1; ; attempts++) {
    const last = await attempt(Math.min(timing.attemptTimeoutMs, budget.remainingMs())).catch((error: unknown) => {
      if (error instanceof PosTransportError) return error;
      throw error;
    });
    const verdict = decide(last);
    if (!verdict.retry) return { last, attempts, earlierAmbiguous, retries };
    const waitMs = delayBefore(attempts, verdict, timing);
    if (budget.remainingMs() - waitMs < MIN_ATTEMPT_MS || budget.signal?.aborted)
      return { last, attempts, undecided: verdict.why, earlierAmbiguous, retries };
    await timing.sleep(waitMs, budget.signal);
    if (!budget.canSend()) return { last, attempts, undecided: verdict.why, earlierAmbiguous, retries };
    retries.push(verdict.why);
    earlierAmbiguous ||= last instanceof PosTransportError ? !last.notSent : last.status >= 500;
  }
}

/** setTimeout as a promise that ends early, quietly, when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
