import { AppError } from '../errors';
import { shouldStoreResponse } from './policy';
import { requestHash } from './request-hash';
import { randomUUID } from 'node:crypto';
import { KeyClaim } from './claim';
import type { BeginResult, HeldKey, IdempotencyScope, IdempotencyStore, StoredOrderAnswer, StoredResponse } from './store';

export interface IdempotentRequest {
  ownerId: string;
  key: string;
  method: string;
  /** The route template, e.g. "POST /baskets/{basketId}/orders". */
  route: string;
  params: unknown;
  body: unknown;
  /** How long the key stays locked to this request: past its deadline, so only a dead request loses it. */
  lockMs: number;
}

export type Replayed = StoredResponse | StoredOrderAnswer;

/** Headers worth replaying; the request id is always the new request's own. */
const REPLAYED_HEADERS = ['retry-after', 'location', 'etag'];

/**
 * The request's key, to be taken by its first write (lib/idempotency/claim.ts);
 * nothing is written yet. When that write finds the key not takeable
 * (KeyNotTakenError), answerForUntakenKey says what to answer.
 */
export function claimRequest(store: IdempotencyStore, request: IdempotentRequest): KeyClaim {
  if (!Number.isInteger(request.lockMs) || request.lockMs < 1)
    throw new RangeError(`lockMs must be a positive integer, got ${request.lockMs}`);
  return new KeyClaim({ ...scopeOf(request), holder: randomUUID() }, request.lockMs, store.ttlMs, (claim) => store.takeKey(claim));
}

/** What a request whose write could not take its key answers: the stored answer to replay, 422, or 409 while the key is busy. */
export async function answerForUntakenKey(store: IdempotencyStore, claim: KeyClaim): Promise<Replayed> {
  const found = await store.inspect(claim.scope);
  // Released or expired since the write found it held: busy a moment ago, free now.
  return answerFor(found ?? { kind: 'in_progress' });
}

function scopeOf(request: IdempotentRequest): IdempotencyScope {
  return {
    ownerId: request.ownerId,
    key: request.key,
    route: request.route,
    requestHash: requestHash({ method: request.method, route: request.route, params: request.params, body: request.body }),
  };
}

function answerFor(found: Exclude<BeginResult, { kind: 'started' }>): Replayed {
  switch (found.kind) {
    case 'replay':
      return found.response;
    case 'in_progress':
      throw new AppError('REQUEST_IN_PROGRESS', 'A request with this Idempotency-Key is still running; retry shortly', {
        retryAfterSeconds: 1,
      });
    case 'mismatch':
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a different request');
  }
}

/**
 * Ends the request that holds the key: a final answer is stored for replay;
 * an answer that decides nothing (500, 503, 504, anything with Retry-After,
 * or no answer at all) releases the key, so the same key can be retried and
 * resumes from the order's recorded state.
 */
export async function finishRequest(store: IdempotencyStore, scope: HeldKey, response: StoredResponse | undefined): Promise<void> {
  const answer = response && { ...response, headers: replayedHeaders(response.headers) };
  if (answer && shouldStoreResponse(answer.status) && !('retry-after' in answer.headers)) await store.complete(scope, answer);
  else await store.release(scope);
}

/** Ends a request whose key its first write was to take: as finishRequest, unless the key was never taken or its answer is stored already. */
export async function finishClaim(store: IdempotencyStore, claim: KeyClaim, response: StoredResponse | undefined): Promise<void> {
  if (claim.isHeld) await finishRequest(store, claim.scope, response);
}

export function replayedHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => REPLAYED_HEADERS.includes(name.toLowerCase())));
}
