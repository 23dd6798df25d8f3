import { AppError, isAppError } from '../errors';
import { renderError } from '../http/error-response';
import type { Reply } from '../http/reply';
import { shouldStoreResponse } from './policy';
import { requestHash } from './request-hash';
import type { IdempotencyScope, IdempotencyStore, StoredResponse } from './store';

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

/** Headers worth replaying; the request id is always the new request's own. */
const REPLAYED_HEADERS = ['retry-after', 'location', 'etag'];

/**
 * Runs `work` at most once per Idempotency-Key: a repeat with the same request
 * replays the stored final answer byte for byte, one with another request is
 * refused (422), one while the first still runs gets 409. Answers that decide
 * nothing (500, 503, 504, anything with Retry-After) release the key so the
 * same key can be retried, and the retry resumes from the order's recorded state.
 */
export async function runIdempotent(store: IdempotencyStore, request: IdempotentRequest, work: () => Promise<Reply>): Promise<Reply> {
  const scope: IdempotencyScope = {
    ownerId: request.ownerId,
    key: request.key,
    route: request.route,
    requestHash: requestHash({ method: request.method, route: request.route, params: request.params, body: request.body }),
  };
  const begun = await store.begin(scope, request.lockMs);
  switch (begun.kind) {
    case 'replay':
      return { status: begun.response.status, rawBody: begun.response.body, headers: { ...begun.response.headers, 'idempotent-replayed': 'true' } };
    case 'in_progress':
      throw new AppError('REQUEST_IN_PROGRESS', 'A request with this Idempotency-Key is still running; retry shortly', { retryAfterSeconds: 1 });
    case 'mismatch':
      throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a different request');
    case 'started':
      break;
  }
  try {
    const reply = await work();
    const rendered = renderReply(reply);
    await settle(store, scope, rendered);
    return { status: rendered.status, rawBody: rendered.body, headers: { ...reply.headers, ...rendered.headers } };
  } catch (error) {
    await settle(store, scope, isAppError(error) ? renderError(error) : undefined);
    throw error;
  }
}

function renderReply(reply: Reply): StoredResponse {
  const body = reply.rawBody ?? JSON.stringify(reply.body ?? null);
  const headers = Object.fromEntries(Object.entries(reply.headers ?? {}).filter(([name]) => REPLAYED_HEADERS.includes(name.toLowerCase())));
  return { status: reply.status, body, headers };
}

/** An answer that tells the caller to come back later (Retry-After) is never final, whatever its status. */
async function settle(store: IdempotencyStore, scope: IdempotencyScope, response: StoredResponse | undefined): Promise<void> {
  if (response && shouldStoreResponse(response.status) && !('retry-after' in response.headers)) await store.complete(scope, response);
  else await store.release(scope);
}
