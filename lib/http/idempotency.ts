import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { isAppError } from '../errors';
import { KeyNotTakenError } from '../idempotency/claim';
import { requireIdempotencyKey } from '../idempotency/key';
import { answerForUntakenKey, claimRequest, finishClaim, replayedHeaders, type Replayed } from '../idempotency/lifecycle';
import type { IdempotencyStore, StoredResponse } from '../idempotency/store';
import { renderError } from './error-response';
import type { ServiceEvent } from './middleware';
import { toLambdaResult, type LambdaResult, type Reply } from './reply';

/** How long past the request's deadline an Idempotency-Key stays locked to it. */
export const LOCK_MARGIN_MS = 5000;

type IdempotentRequest = middy.Request<ServiceEvent, LambdaResult, Error, Context>;

/** Renders an answer stored as the order it was given from, as the route rendered it the first time (it may throw the AppError it answered). */
export type StoredOrderAnswerRenderer = (answerOrder: Record<string, unknown>) => Reply;

/**
 * Runs a paying route at most once per Idempotency-Key, scoped to the caller
 * and the route the event carries ("POST /baskets/{basketId}/orders").
 * `before` only prepares the key's claim: the use-case's first write takes it
 * (lib/idempotency/claim.ts), so taking the key costs no round trip of its
 * own; when that write finds the key taken, the endpoint answers with
 * `untakenKeyAnswer` (the stored answer, or 409/422). `after` stores a final
 * answer, `onError` stores a final error (402, 409, 422, 502) or releases the
 * key, unless the statement that recorded the outcome stored it already.
 * Runs after authentication and validation, so the request hash covers the
 * validated input.
 *
 * Not Powertools' makeHandlerIdempotent: it stores only successful results and
 * forgets a request that threw, while a POS checkout must replay a stored
 * decline (402) or unknown payment (502) and release the key for any answer
 * that says "retry later" (Retry-After), whatever its status.
 */
export function idempotency(store: () => IdempotencyStore, route: string): middy.MiddlewareObj<ServiceEvent, LambdaResult, Error, Context> {
  return {
    before: (request: IdempotentRequest) => {
      const { state } = request.event;
      const input = state.input!;
      const key = requireIdempotencyKey(input.headers as { 'idempotency-key'?: string });
      const routeKey = request.event.routeKey && request.event.routeKey !== '$default' ? request.event.routeKey : route;
      const claim = claimRequest(store(), {
        ownerId: state.caller!.userId,
        key,
        method: routeKey.split(' ')[0]!,
        route: routeKey,
        params: input.params,
        body: input.body ?? null,
        lockMs: state.deadline.remainingMs() + LOCK_MARGIN_MS,
      });
      state.idempotency = { key, claim };
    },
    after: async (request: IdempotentRequest) => {
      const held = request.event.state.idempotency;
      const response = request.response;
      if (held)
        await finishClaim(
          store(),
          held.claim,
          response
            ? { status: response.statusCode ?? 200, body: response.body ?? '', headers: stringHeaders(response.headers) }
            : undefined,
        );
    },
    onError: async (request: IdempotentRequest) => {
      const held = request.event.state?.idempotency;
      if (!held) return;
      request.event.state.idempotency = undefined;
      await finishClaim(store(), held.claim, isAppError(request.error) ? renderError(request.error) : undefined);
    },
  };
}

/**
 * The answer of a request whose first write found its key not takeable: the
 * stored answer, replayed (rendered from the stored order when it was stored
 * with the outcome); or it throws 409 REQUEST_IN_PROGRESS / 422 IDEMPOTENCY_KEY_REUSED.
 */
export async function untakenKeyAnswer(
  store: IdempotencyStore,
  error: KeyNotTakenError,
  state: ServiceEvent['state'],
  renderStoredOrder: StoredOrderAnswerRenderer,
): Promise<LambdaResult> {
  const held = state.idempotency;
  if (!held) throw error;
  state.idempotency = undefined; // never taken: nothing to store or release
  return replayOf(await answerForUntakenKey(store, held.claim), renderStoredOrder);
}

/** A stored answer as it is replayed: as stored, or rendered again from the order stored with the outcome. */
export function replayedResponse(replayed: Replayed, renderStoredOrder: StoredOrderAnswerRenderer): StoredResponse {
  return 'answerOrder' in replayed ? renderedOrderAnswer(replayed.answerOrder, renderStoredOrder) : replayed;
}

function replayOf(replayed: Replayed, renderStoredOrder: StoredOrderAnswerRenderer): LambdaResult {
  const response = replayedResponse(replayed, renderStoredOrder);
  return {
    statusCode: response.status,
    headers: { 'content-type': 'application/json', ...response.headers, 'idempotent-replayed': 'true' },
    body: response.body,
  };
}

function renderedOrderAnswer(answerOrder: Record<string, unknown>, render: StoredOrderAnswerRenderer): StoredResponse {
  try {
    const result = toLambdaResult(render(answerOrder));
    return { status: result.statusCode ?? 200, body: result.body ?? '', headers: replayedHeaders(stringHeaders(result.headers)) };
  } catch (error) {
    if (!isAppError(error)) throw error;
    const rendered = renderError(error);
    return { ...rendered, headers: replayedHeaders(rendered.headers) };
  }
}

function stringHeaders(headers: LambdaResult['headers']): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name, String(value)]));
}
