import { AppError } from '../errors';
import { shouldStoreResponse } from './policy';
import { requestHash } from './request-hash';
import type { HeldKey, IdempotencyScope, IdempotencyStore, StoredResponse } from './store';

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

export type Begun = { kind: 'started'; scope: HeldKey } | { kind: 'replay'; response: StoredResponse };

/** Headers worth replaying; the request id is always the new request's own. */
const REPLAYED_HEADERS = ['retry-after', 'location', 'etag'];

/**
 * Takes the request's Idempotency-Key, or answers for it: the stored final
 * answer of the same request (replay), 422 for another request under the same
 * key, 409 while the first request still runs.
 */
export async function beginRequest(store: IdempotencyStore, request: IdempotentRequest): Promise<Begun> {
  const scope: IdempotencyScope = {
    ownerId: request.ownerId,
    key: request.key,
    route: request.route,
    requestHash: requestHash({ method: request.method, route: request.route, params: request.params, body: request.body }),
  };
  const begun = await store.begin(scope, request.lockMs);
  switch (begun.kind) {
    case 'replay':
      return { kind: 'replay', response: begun.response };
    case 'in_progress':
      throw new AppError('REQUEST_IN_PROGRESS', 'A request with this Idempotency-Key is still running; retry shortly', {
        retryAfterSeconds: 1,
      });
    case 'mismatch':
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a different request');
    case 'started':
      return { kind: 'started', scope: { ...scope, holder: begun.holder } };
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

function replayedHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => REPLAYED_HEADERS.includes(name.toLowerCase())));
}
