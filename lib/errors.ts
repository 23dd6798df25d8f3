/**
 * The one error type of the service. `code` is stable and documented; the HTTP
 * status is derived from it in one table so a reader finds every mapping here.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 422,
  IDEMPOTENCY_KEY_MISSING: 400,
  IDEMPOTENCY_KEY_REUSED: 422,
  UNAUTHENTICATED: 401,
  PAYMENT_DECLINED: 402,
  ROUTE_NOT_FOUND: 404,
  BASKET_NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  PRODUCT_NOT_FOUND: 404,
  BASKET_EMPTY: 409,
  BASKET_LOCKED: 409,
  BASKET_CLOSED: 409,
  ORDER_STATE_CONFLICT: 409,
  REQUEST_IN_PROGRESS: 409,
  VERSION_MISMATCH: 412,
  THROTTLED: 429,
  UPSTREAM_ERROR: 502,
  PAYMENT_STATUS_UNKNOWN: 502,
  UPSTREAM_UNAVAILABLE: 503,
  DATABASE_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  path?: string;
  message: string;
  [key: string]: unknown;
}

export interface AppErrorOptions {
  /** Overrides the code's usual status, e.g. 400 VALIDATION_FAILED for a body that is not JSON. */
  status?: number;
  details?: ErrorDetail[];
  cause?: unknown;
  /** Seconds the caller should wait before retrying (sent as Retry-After). */
  retryAfterSeconds?: number;
  /** Extra fields placed in the error body, e.g. the order id of an unknown payment. */
  extra?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: ErrorDetail[];
  readonly retryAfterSeconds?: number;
  readonly extra?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? ERROR_STATUS[code];
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.extra = options.extra;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
