import { isPosApiError, PosApiError, PosClient, PosTransportError, type FetchLike, type Outcome } from '../../client/src';
import type { PlannedLine } from './harness';

/**
 * A cashier's terminal in the bench and the soak: our API through the
 * terminal client (client/, docs/client.md), as an integrator would use it.
 * The client keeps one Idempotency-Key per operation and retries it within
 * the budget; the bench and the soak only decide what the cashier does next
 * with each outcome.
 */
export interface TerminalPolicy {
  /** The client's budget for one operation, retries and waits included. */
  budgetMs: number;
}

/** An order operation's outcome, and how long it took to decide. */
export interface TimedOutcome {
  outcome: Outcome;
  /**
   * From the call to the last answer (or failure) of the operation's own
   * request: the reads of the order the client makes after a decline or an
   * unknown payment, to attach it, are not the checkout's time.
   */
  durationMs: number;
  /** Requests the operation sent: the first and its retries under the same key. */
  attempts: number;
}

export class Cashier {
  /** The client for reads and basket writes. */
  readonly pos: PosClient;

  constructor(
    readonly apiUrl: string,
    readonly token: string,
    private readonly policy: TerminalPolicy,
  ) {
    this.pos = new PosClient({ baseUrl: apiUrl, token, budgetMs: policy.budgetMs });
  }

  /** Runs an order operation of the client (checkout, prepare, pay, cancel, resume), timed to the answer that decided it. */
  async timed(operation: (pos: PosClient) => Promise<Outcome>): Promise<TimedOutcome> {
    let decidedAt: number | undefined;
    const decides = (init: RequestInit) => (init.method ?? 'GET') !== 'GET';
    const timing: FetchLike = async (url, init) => {
      try {
        const response = await fetch(url, init);
        if (decides(init)) decidedAt = performance.now();
        return response;
      } catch (error) {
        if (decides(init)) decidedAt = performance.now();
        throw error;
      }
    };
    const pos = new PosClient({ baseUrl: this.apiUrl, token: this.token, budgetMs: this.policy.budgetMs, fetch: timing });
    const started = performance.now();
    const outcome = await operation(pos);
    return { outcome, durationMs: (decidedAt ?? performance.now()) - started, attempts: outcome.attempts };
  }

  /** Setup: a new basket with the planned lines, each line written with If-Match on the version before it. */
  async basketWith(lines: readonly PlannedLine[]): Promise<{ basketId: string } | { failed: string }> {
    let step = 'POST /baskets';
    try {
      let basket = await this.pos.createBasket();
      step = 'PUT item';
      for (const line of lines) basket = await this.pos.setItem(basket.id, line.productId, line.quantity, { ifMatch: basket });
      return { basketId: basket.id };
    } catch (error) {
      return { failed: `${step} → ${describeError(error)}` };
    }
  }
}

/** "paid", "declined", "unknown", "cancelled (UPSTREAM_ERROR)", "refused BASKET_EMPTY", "retry-later (unavailable: 503 UPSTREAM_UNAVAILABLE)", "paid (ORDER_STATE_CONFLICT)". */
export function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'refused':
      return `refused ${outcome.error.code}`;
    case 'retry-later':
      return `retry-later (${outcome.reason}${outcome.cause ? `: ${describeError(outcome.cause)}` : ''})`;
    default: {
      // An outcome read from the order after a conflict says which answer led there.
      const error = 'error' in outcome ? outcome.error : undefined;
      const direct = !error || error.code === 'PAYMENT_DECLINED' || error.code === 'PAYMENT_STATUS_UNKNOWN';
      return direct ? outcome.kind : `${outcome.kind} (${error.code})`;
    }
  }
}

/** "404 BASKET_NOT_FOUND", "no answer (timeout)", or the message of anything else. */
export function describeError(error: unknown): string {
  if (isPosApiError(error)) return `${error.status} ${error.code}`;
  if (error instanceof PosTransportError) return `no answer (${error.reason}${error.notSent ? ', not sent' : ''})`;
  return error instanceof Error ? error.message : String(error);
}

/** The answer was the service's "not found" (what the warm-up requests are meant to get). */
export const isNotFound = (error: unknown) => isPosApiError(error) && error.status === 404;

/** Codes of an undecided answer that still say nothing was charged (docs/api.md: 503 UPSTREAM_UNAVAILABLE, 504 UPSTREAM_TIMEOUT). */
const NOTHING_CHARGED = new Set(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT']);

/**
 * Whether the cashier was told nothing was charged: declined, cancelled, or a
 * retry-later whose last answer said so. The money checks hold every such
 * outcome to the ledger.
 */
export function claimsNothingCharged(outcome: Outcome): boolean {
  if (outcome.kind === 'declined' || outcome.kind === 'cancelled') return true;
  return outcome.kind === 'retry-later' && outcome.cause instanceof PosApiError && NOTHING_CHARGED.has(outcome.cause.code);
}
