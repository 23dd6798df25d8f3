import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { isAppError } from '../errors';
import { requireIdempotencyKey } from '../idempotency/key';
import { beginRequest, finishRequest } from '../idempotency/lifecycle';
import type { IdempotencyStore, StoredResponse } from '../idempotency/store';
import { renderError } from './error-response';
import type { ServiceEvent } from './middleware';
import type { LambdaResult } from './reply';

/** How long past the request's deadline an Idempotency-Key stays locked to it. */
export const LOCK_MARGIN_MS = 5000;

type IdempotentRequest = middy.Request<ServiceEvent, LambdaResult, Error, Context>;

/**
 * Runs a paying route at most once per Idempotency-Key, scoped to the caller
 * and the route the event carries ("POST /baskets/{basketId}/orders"):
 * `before` takes the key or finds the stored answer to replay, `after` stores
 * a final answer, `onError` stores a final error (402, 409, 422, 502) or
 * releases the key. Runs after authentication and validation, so the request
 * hash covers the validated input.
 *
 * Not Powertools' makeHandlerIdempotent: it stores only successful results and
 * forgets a request that threw, while a POS checkout must replay a stored
 * decline (402) or unknown payment (502) and release the key for any answer
 * that says "retry later" (Retry-After), whatever its status.
 */
export function idempotency(store: () => IdempotencyStore, route: string): middy.MiddlewareObj<ServiceEvent, LambdaResult, Error, Context> {
  return {
    before: async (request: IdempotentRequest) => {
      const { state } = request.event;
      const input = state.input!;
      const key = requireIdempotencyKey(input.headers as { 'idempotency-key'?: string });
      const routeKey = request.event.routeKey && request.event.routeKey !== '$default' ? request.event.routeKey : route;
      const begun = await beginRequest(store(), {
        ownerId: state.caller!.userId,
        key,
        method: routeKey.split(' ')[0]!,
        route: routeKey,
        params: input.params,
        body: input.body ?? null,
        lockMs: state.deadline.remainingMs() + LOCK_MARGIN_MS,
      });
      if (begun.kind === 'replay') state.replay = replayOf(begun.response);
      else state.idempotency = { key, scope: begun.scope };
    },
    after: async (request: IdempotentRequest) => {
      const held = request.event.state.idempotency;
      const response = request.response;
      if (held)
        await finishRequest(
          store(),
          held.scope,
          response
            ? { status: response.statusCode ?? 200, body: response.body ?? '', headers: stringHeaders(response.headers) }
            : undefined,
        );
    },
    onError: async (request: IdempotentRequest) => {
      const held = request.event.state?.idempotency;
      if (!held) return;
      request.event.state.idempotency = undefined;
      await finishRequest(store(), held.scope, isAppError(request.error) ? renderError(request.error) : undefined);
    },
  };
}

function replayOf(response: StoredResponse): LambdaResult {
  return {
    statusCode: response.status,
    headers: { 'content-type': 'application/json', ...response.headers, 'idempotent-replayed': 'true' },
    body: response.body,
  };
}

function stringHeaders(headers: LambdaResult['headers']): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name, String(value)]));
}
