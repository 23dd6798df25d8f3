import type { Answer } from './http.js';
import type { ErrorCode } from './types.js';

/** The service's code, or UNEXPECTED_ANSWER for an answer that is not the service's error shape (a proxy's page, say). */
export type PosErrorCode = ErrorCode | 'UNEXPECTED_ANSWER';

export interface ErrorDetail {
  path?: string;
  message: string;
}

/**
 * An error the service answered with: its stable `code` (the table in
 * docs/api.md), the HTTP status, the request id to quote to support, and
 * what the body names (the order, the basket's current version).
 */
export class PosApiError extends Error {
  override readonly name = 'PosApiError';
  readonly code: PosErrorCode;
  readonly status: number;
  /** The service's x-request-id for the request that got this answer. */
  readonly requestId?: string;
  /** The order the error is about (PAYMENT_DECLINED, PAYMENT_STATUS_UNKNOWN, BASKET_LOCKED, …). */
  readonly orderId?: string;
  /** VERSION_MISMATCH: the basket's version now; send it as ifMatch after looking at the basket again. */
  readonly currentVersion?: number;
  /** VALIDATION_FAILED: one entry per invalid field. */
  readonly details?: ErrorDetail[];
  /** How long the service asked to wait before trying again (Retry-After), when it did. */
  readonly retryAfterMs?: number;
  /** The answer's body as received. */
  readonly body: unknown;

  constructor(answer: Answer) {
    const error = errorOf(answer.body);
    super(error?.message ?? `The service answered ${answer.status} without an error code`);
    this.code = error?.code ?? 'UNEXPECTED_ANSWER';
    this.status = answer.status;
    this.requestId = answer.requestId;
    this.orderId = typeof error?.orderId === 'string' ? error.orderId : undefined;
    this.currentVersion = typeof error?.currentVersion === 'number' ? error.currentVersion : undefined;
    this.details = Array.isArray(error?.details) ? (error.details as ErrorDetail[]) : undefined;
    this.retryAfterMs = answer.retryAfterMs;
    this.body = answer.body;
  }
}

export type TransportFailure =
  /** No HTTP answer: the connection failed or was cut. */
  | 'network'
  /** No answer within the attempt's time (attemptTimeoutMs, or what was left of the budget). */
  | 'timeout'
  /** The caller's AbortSignal fired. */
  | 'aborted';

/** No HTTP answer came. Whether the service acted on the request is not known, unless `notSent`. */
export class PosTransportError extends Error {
  override readonly name = 'PosTransportError';
  readonly reason: TransportFailure;
  /** True only when the request provably never left (connection refused, host not found): then any request may be sent again. */
  readonly notSent: boolean;

  constructor(reason: TransportFailure, message: string, options: { notSent?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.reason = reason;
    this.notSent = options.notSent ?? false;
  }
}

/** Whether `error` is the service's answer, with this code if one is given. */
export function isPosApiError(error: unknown, code?: PosErrorCode): error is PosApiError {
  return error instanceof PosApiError && (code === undefined || error.code === code);
}

interface RawError {
  code: ErrorCode;
  message?: string;
  orderId?: unknown;
  currentVersion?: unknown;
  details?: unknown;
}

/** The `error` object of the service's error envelope, if the body is one. */
export function errorOf(body: unknown): RawError | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? (error as RawError) : undefined;
}
