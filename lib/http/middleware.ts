import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { ZodType } from 'zod';
import type { TokenVerifier, Caller } from '../auth';
import { AppError, isAppError, type ErrorDetail } from '../errors';
import { Deadline } from '../deadline';
import { renderError } from './error-response';
import { powertoolsLogger, rootLogger, type Logger } from '../logger';
import type { KeyClaim } from '../idempotency/claim';
import { recordCheckout } from '../metrics';

/** What our middlewares add to the API Gateway event on the way in. */
export interface RequestState {
  requestId: string;
  log: Logger;
  startedAt: number;
  /** The request's own deadline, below the Lambda's: every upstream call and the Idempotency-Key lock derive from it. */
  deadline: Deadline;
  caller?: Caller;
  input?: ValidatedInput;
  /** The Idempotency-Key this request holds (lib/http/idempotency.ts). */
  idempotency?: { key: string; claim: KeyClaim };
}

export interface ValidatedInput {
  params: unknown;
  body: unknown;
  query: unknown;
  headers: unknown;
}

export type ServiceEvent = APIGatewayProxyEventV2 & { state: RequestState };
type ServiceRequest = middy.Request<ServiceEvent, unknown, Error, Context>;

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Request id (the caller's x-request-id when sane, else the Lambda's), which
 * is also the logs' correlation id, a request logger, the request's deadline
 * and an access log line.
 */
export function requestContext(deadlineMs: () => number): middy.MiddlewareObj<ServiceEvent, unknown, Error, Context> {
  return {
    before: (request: ServiceRequest) => {
      const offered = request.event.headers?.['x-request-id'];
      const requestId = offered && REQUEST_ID.test(offered) ? offered : request.context.awsRequestId || randomUUID();
      powertoolsLogger.setCorrelationId(requestId);
      // Carried by the request's own logger too, so work that outlives the reply still logs its own id.
      const log = rootLogger.child({ correlation_id: requestId, requestId, route: request.event.routeKey });
      const deadline = Deadline.fromNow(deadlineMs(), { lambdaRemainingMs: request.context.getRemainingTimeInMillis?.() });
      request.event.state = { requestId, log, startedAt: Date.now(), deadline };
    },
    after: (request: ServiceRequest) => {
      const response = request.response as { statusCode?: number; headers?: Record<string, string> } | null;
      logAccess(request, response?.statusCode, undefined, response?.headers?.['idempotent-replayed'] === 'true');
    },
  };
}

/** The one access log line per request, for answers and errors alike (and the checkout metric of checkout routes). */
function logAccess(request: ServiceRequest, status: number | undefined, code?: string, replayed = false): void {
  const state = request.event.state;
  if (!state) return;
  recordCheckout(request.event.routeKey, status, code, replayed);
  state.log.info('request finished', {
    method: request.event.requestContext?.http?.method,
    path: request.event.rawPath,
    status,
    code,
    durationMs: Date.now() - state.startedAt,
  });
}

/** Verifies the x-auth-user JWT before anything else reads the request. */
export function authenticate(verifier: TokenVerifier): middy.MiddlewareObj<ServiceEvent, unknown, Error, Context> {
  return {
    before: async (request: ServiceRequest) => {
      const token = request.event.headers?.['x-auth-user'];
      if (!token) throw new AppError('UNAUTHENTICATED', 'Missing x-auth-user token');
      const claims = (request.event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } }).authorizer?.jwt
        ?.claims;
      request.event.state.caller = await verifier(token.replace(/^Bearer\s+/i, ''), {
        gatewayClaims: claims,
        log: request.event.state.log,
      });
      request.event.state.log = request.event.state.log.child({ userId: request.event.state.caller.userId });
    },
  };
}

export interface InputSchemas {
  params?: ZodType;
  body?: ZodType;
  query?: ZodType;
  headers?: ZodType;
}

/** Parses the JSON body (400 when it is not JSON) and validates every part (422 with field paths). */
export function validateInput(schemas: InputSchemas): middy.MiddlewareObj<ServiceEvent, unknown, Error, Context> {
  return {
    before: (request: ServiceRequest) => {
      const event = request.event;
      const details: ErrorDetail[] = [];
      const check = (part: keyof InputSchemas, value: unknown): unknown => {
        const schema = schemas[part];
        if (!schema) return value;
        const result = schema.safeParse(value);
        if (result.success) return result.data;
        for (const issue of result.error.issues) {
          details.push({ path: [part, ...issue.path.map(String)].join('.'), message: issue.message });
        }
        return undefined;
      };
      const input: ValidatedInput = {
        params: check('params', event.pathParameters ?? {}),
        body: check('body', schemas.body ? parseJsonBody(event) : undefined),
        query: check('query', event.queryStringParameters ?? {}),
        headers: check('headers', event.headers ?? {}),
      };
      if (details.length > 0) throw new AppError('VALIDATION_FAILED', 'The request is not valid', { details });
      event.state.input = input;
    },
  };
}

function parseJsonBody(event: APIGatewayProxyEventV2): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new AppError('VALIDATION_FAILED', 'The request body is not valid JSON', {
      status: 400,
      cause,
      details: [{ path: 'body', message: 'Expected a JSON document' }],
    });
  }
}

/**
 * The one place errors become HTTP: an AppError keeps its code, status,
 * details and Retry-After; anything else is logged in full and answered as a
 * bare 500 INTERNAL, so no stack, SQL or upstream body reaches the caller.
 * The result is handed to @middy/http-error-handler, which writes the response.
 */
export function mapErrors(): middy.MiddlewareObj<ServiceEvent, unknown, Error, Context> {
  return {
    onError: (request: ServiceRequest) => {
      const error = request.error;
      const state = request.event.state;
      const log = state?.log ?? rootLogger;
      const rendered = renderError(error);
      const code = isAppError(error) ? error.code : 'INTERNAL';
      if (rendered.status >= 500) {
        log.error('request failed', { error, code, cause: isAppError(error) && error.cause ? String(error.cause) : undefined });
      }
      const headers = { ...rendered.headers, ...(state?.requestId ? { 'x-request-id': state.requestId } : {}) };
      request.error = Object.assign(new Error(rendered.body), { statusCode: rendered.status, expose: true, headers });
      logAccess(request, rendered.status, code);
    },
  };
}
