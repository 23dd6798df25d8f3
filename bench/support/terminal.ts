import { randomUUID } from 'node:crypto';
import type { PlannedLine } from './harness';
import { sleep } from './harness';

/** One answer of our API as a terminal sees it; `status` 0 when no HTTP answer came (network error). */
export interface Answer {
  status: number;
  body: any;
  retryAfterMs?: number;
  networkError?: string;
}

/** "201 paid", "502 PAYMENT_STATUS_UNKNOWN", "0 network error: …". */
export function describeAnswer(answer: Answer): string {
  if (answer.status === 0) return `network error: ${answer.networkError}`;
  const label = answer.body?.error?.code ?? answer.body?.status;
  if (typeof label === 'string') return `${answer.status} ${label}`;
  // Not one of our answers (e.g. serverless-offline's own reply to a Lambda timeout): show what came.
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? '');
  return `${answer.status} unexpected body: ${text.slice(0, 80)}`;
}

/** The order id in an answer: the order itself (201), or an error that names it. */
export function orderIdOf(answer: Answer): string | undefined {
  return answer.body?.id ?? answer.body?.error?.orderId;
}

/** How a terminal retries an answer that decides nothing (202 payment pending, 503/504, 409 REQUEST_IN_PROGRESS, no answer). */
export interface RetryPolicy {
  maxRetries: number;
  /** Retry-After is honoured up to this; without one, exponential backoff with full jitter from backoffBaseMs. */
  retryAfterCapMs: number;
  backoffBaseMs: number;
}

export function isUndecided(answer: Answer): boolean {
  return (
    answer.status === 0 ||
    answer.status === 202 ||
    answer.status === 503 ||
    answer.status === 504 ||
    (answer.status === 409 && answer.body?.error?.code === 'REQUEST_IN_PROGRESS')
  );
}

/** A cashier terminal talking to our API as one user. */
export class Terminal {
  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
    /** No request waits longer than this (a safety cap far above the service's own deadline). */
    private readonly safetyCapMs = 60_000,
  ) {}

  async send(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { 'x-auth-user': this.token, ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const response = await fetch(`${this.apiUrl}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.safetyCapMs),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      const retryAfter = Number(response.headers.get('retry-after'));
      return { status: response.status, body, retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined };
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return {
        status: 0,
        body: undefined,
        networkError:
          (error as Error).name === 'TimeoutError' ? 'safety cap reached' : (cause?.code ?? cause?.message ?? (error as Error).message),
      };
    }
  }

  /** Setup (not timed): a new basket with the planned lines. Retries what decides nothing, as a terminal would. */
  async basketWith(lines: readonly PlannedLine[], policy: RetryPolicy): Promise<{ basketId: string } | { failed: string }> {
    const created = await this.untilDecided(() => this.send('POST', '/baskets'), policy);
    if (created.answer.status !== 201) return { failed: `POST /baskets → ${describeAnswer(created.answer)}` };
    const basketId: string = created.answer.body.id;
    for (const line of lines) {
      const set = await this.untilDecided(
        () => this.send('PUT', `/baskets/${basketId}/items/${line.productId}`, { body: { quantity: line.quantity } }),
        policy,
      );
      if (set.answer.status !== 200) return { failed: `PUT item → ${describeAnswer(set.answer)}` };
    }
    return { basketId };
  }

  /** POST with an Idempotency-Key (and `body`, if any), retried with the same key until an answer decides something. */
  postIdempotent(
    path: string,
    policy: RetryPolicy,
    key: string = randomUUID(),
    body?: unknown,
  ): Promise<{ answer: Answer; attempts: number; durationMs: number; key: string }> {
    return this.untilDecided(() => this.send('POST', path, { body, headers: { 'idempotency-key': key } }), policy).then((result) => ({
      ...result,
      key,
    }));
  }

  private async untilDecided(
    request: () => Promise<Answer>,
    policy: RetryPolicy,
  ): Promise<{ answer: Answer; attempts: number; durationMs: number }> {
    const started = performance.now();
    let attempts = 0;
    for (;;) {
      const answer = await request();
      attempts++;
      if (!isUndecided(answer) || attempts > policy.maxRetries) return { answer, attempts, durationMs: performance.now() - started };
      const backoff = Math.random() * policy.backoffBaseMs * 2 ** (attempts - 1);
      await sleep(
        answer.retryAfterMs !== undefined
          ? Math.min(answer.retryAfterMs, policy.retryAfterCapMs)
          : Math.min(backoff, policy.retryAfterCapMs),
      );
    }
  }
}
