import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { Context } from 'aws-lambda';
import type { z, ZodType } from 'zod';
import { secretsLoaded } from '../secrets';
import type { Caller, TokenVerifier } from '../auth';
import type { CallContext } from '../call';
import { config } from '../config';
import { AppError } from '../errors';
import type { IdempotencyStore } from '../idempotency/store';
import type { Deadline } from '../deadline';
import type { Logger } from '../logger';
import { afterTheReply } from '../metrics';
import { INTERNAL_ERROR_BODY } from './error-response';
import { KeyNotTakenError, type KeyClaim } from '../idempotency/claim';
import { idempotency, untakenKeyAnswer, type StoredOrderAnswerRenderer } from './idempotency';
import { authenticate, mapErrors, requestContext, validateInput, type ServiceEvent } from './middleware';
import { observability } from './observability';
import { toLambdaResult, type LambdaResult, type Reply } from './reply';
import { routeKey, type HttpMethod } from './routes';

type Infer<S> = S extends ZodType ? z.output<S> : undefined;

/** What a handler validates: in practice an entry of the route registry (lib/http/routes.ts). */
export interface EndpointSpec<P, B, Q, H> {
  method?: HttpMethod;
  path?: string;
  /** The serverless.yml function that serves it. */
  functionName: string;
  /** Runs at most once per Idempotency-Key (lib/http/idempotency.ts). */
  idempotent?: boolean;
  /** false for public routes (health); everything else needs a verified token. */
  authenticated?: boolean;
  params?: P;
  body?: B;
  query?: Q;
  headers?: H;
}

export interface EndpointRequest<P, B, Q, H> {
  params: Infer<P>;
  body: Infer<B>;
  query: Infer<Q>;
  headers: Infer<H>;
  requestId: string;
  log: Logger;
  deadline: Deadline;
  signal: AbortSignal;
}

export interface AuthenticatedRequest<P, B, Q, H> extends EndpointRequest<P, B, Q, H> {
  caller: Caller;
  /** The Idempotency-Key this request holds, on idempotent routes. */
  idempotencyKey: string;
  /** On idempotent routes: the key, for the use-case's first write to take (lib/idempotency/claim.ts). */
  idempotencyClaim?: KeyClaim;
}

/** Milliseconds before the Lambda timeout at which Middy aborts the handler's signal. */
const ABORT_BEFORE_TIMEOUT_MS = 500;

/**
 * A handler still running that close to the Lambda timeout answers our 503 with Retry-After (the error
 * middleware renders it, and an Idempotency-Key it holds is released) before the platform kills it.
 */
function ranOutOfTime(): never {
  throw new AppError(
    'SERVICE_UNAVAILABLE',
    'The request ran out of time; retry shortly (with the same Idempotency-Key, to learn what it did)',
    { retryAfterSeconds: 1 },
  );
}

type Handler = middy.MiddyfiedHandler<ServiceEvent, LambdaResult, Error, Context>;

/** A route's handler factory: the spec it validates, and its use-case call given the request and the services. */
export interface Endpoint<S> {
  <
    P extends ZodType | undefined = undefined,
    B extends ZodType | undefined = undefined,
    Q extends ZodType | undefined = undefined,
    H extends ZodType | undefined = undefined,
  >(
    spec: EndpointSpec<P, B, Q, H> & { authenticated?: true },
    run: (request: AuthenticatedRequest<P, B, Q, H>, services: S) => Promise<Reply>,
  ): Handler;
  <
    P extends ZodType | undefined = undefined,
    B extends ZodType | undefined = undefined,
    Q extends ZodType | undefined = undefined,
    H extends ZodType | undefined = undefined,
  >(
    spec: EndpointSpec<P, B, Q, H> & { authenticated: false },
    run: (request: EndpointRequest<P, B, Q, H>, services: S) => Promise<Reply>,
  ): Handler;
}

/** What the middleware stack needs from the composition root; each is asked for on first use (the secrets load first). */
export interface EndpointDependencies<S> {
  services: () => S;
  verifyToken: () => TokenVerifier;
  idempotencyStore: (services: S) => IdempotencyStore;
  /** How an idempotent route's answer stored with its outcome, as the order it was given from, is rendered again on replay. */
  storedOrderAnswer: StoredOrderAnswerRenderer;
}

/**
 * Handlers built on the one middleware stack every route shares: Lambda
 * context for the logs and per-invocation metrics → request id and logs →
 * header normalisation → authentication → input validation → handler →
 * error mapping (rendered by http-error-handler). The composition root
 * (functions/app.ts) passes what the stack and the handlers use.
 */
export function endpointsWith<S>(dependencies: EndpointDependencies<S>): Endpoint<S> {
  return ((
    spec: EndpointSpec<ZodType | undefined, ZodType | undefined, ZodType | undefined, ZodType | undefined>,
    run: (request: AuthenticatedRequest<ZodType, ZodType, ZodType, ZodType>, services: S) => Promise<Reply>,
  ): Handler => {
    const handler = middy<ServiceEvent, LambdaResult, Error, Context>({
      timeoutEarlyInMillis: ABORT_BEFORE_TIMEOUT_MS,
      timeoutEarlyResponse: ranOutOfTime,
    })
      .use(httpErrorHandler({ logger: false, fallbackMessage: INTERNAL_ERROR_BODY }))
      .use(observability<ServiceEvent, LambdaResult>((request) => ({ requestId: request.event.state?.requestId })))
      .use({ before: () => secretsLoaded() })
      .use(requestContext(() => config().REQUEST_DEADLINE_MS))
      .use(httpHeaderNormalizer())
      .use(mapErrors());
    if (spec.authenticated !== false) handler.use(authenticate((token, context) => dependencies.verifyToken()(token, context)));
    handler.use(validateInput({ params: spec.params, body: spec.body, query: spec.query, headers: spec.headers }));
    if (spec.idempotent) {
      handler.use(
        idempotency(
          () => dependencies.idempotencyStore(dependencies.services()),
          spec.method && spec.path ? routeKey({ method: spec.method, path: spec.path }) : spec.functionName,
        ),
      );
    }
    return handler.handler(async (event, _context, { signal }) => {
      const { state } = event;
      const input = state.input!;
      const request = {
        params: input.params,
        body: input.body,
        query: input.query,
        headers: input.headers,
        requestId: state.requestId,
        log: state.log,
        caller: state.caller!,
        idempotencyKey: state.idempotency?.key ?? '',
        idempotencyClaim: state.idempotency?.claim,
        deadline: state.deadline,
        signal,
      };
      let reply: Reply;
      try {
        reply = await run(request, dependencies.services());
      } catch (error) {
        if (!(error instanceof KeyNotTakenError)) throw error;
        const store = dependencies.idempotencyStore(dependencies.services());
        const replay = await untakenKeyAnswer(store, error, state, dependencies.storedOrderAnswer);
        return { ...replay, headers: { 'x-request-id': state.requestId, ...replay.headers } };
      }
      return toLambdaResult({ ...reply, headers: { 'x-request-id': state.requestId, ...reply.headers } });
    });
  }) as Endpoint<S>;
}

/** What every upstream call made on behalf of this request needs. */
export function upstreamCallOptions(
  request: Pick<AuthenticatedRequest<undefined, undefined, undefined, undefined>, 'caller' | 'deadline' | 'log' | 'signal'>,
): CallContext {
  return { token: request.caller.token, deadline: request.deadline, log: request.log, signal: request.signal };
}

/** Starts work that goes on after the reply: its metrics are published on their own, with this request's id. */
export function afterReply(
  request: Pick<EndpointRequest<undefined, undefined, undefined, undefined>, 'requestId'>,
  work: () => void,
): void {
  afterTheReply({ requestId: request.requestId }, work);
}
