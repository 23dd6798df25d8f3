import type { Deadline } from './deadline';
import { AppError } from './errors';
import type { Logger } from './logger';

/** What every call to the POS system made on behalf of a request carries. */
export interface CallContext {
  /** The caller's token, which the POS system authenticates. */
  token: string;
  deadline: Deadline;
  log: Logger;
  /** The handler's abort signal (fires just before the Lambda times out). */
  signal?: AbortSignal;
  /** This call's own cap on one attempt, instead of the default (payments get a longer one). */
  timeoutMs?: number;
}

/**
 * A call to the POS system that got no usable answer, in the words the
 * use-cases decide by: did it prove that nothing was applied (`effect:
 * 'none'`), or may it have been (`'unknown'`)? `reason` says what the caller
 * is told (too slow, unavailable, an error answer, a lost connection);
 * `detail` is for logs and recorded errors ("status 500", "timeout").
 */
export interface CallFailure {
  effect: 'none' | 'unknown';
  reason: 'timeout' | 'unavailable' | 'error' | 'connection_lost';
  detail: string;
}

/** Thrown by a port's reads and repeatable writes when the POS system gave no usable answer. */
export class CallFailedError extends Error {
  constructor(
    readonly failure: CallFailure,
    message = `POS call failed: ${failure.detail}`,
  ) {
    super(message);
    this.name = 'CallFailedError';
  }
}

export interface FailureContext {
  /** What to tell the caller instead of the generic message. */
  message?: string;
  /** Fields for the error body, e.g. the order id. */
  extra?: Record<string, unknown>;
  /**
   * The caller's request changed nothing that a retry could repeat (a read, or
   * a step whose state is recorded): every failure then means "retry later",
   * 503 or 504 with Retry-After, never a final 502.
   */
  retrySafe?: boolean;
}

/**
 * The one mapping from a failed POS call to the caller's error: 503 when the
 * POS system is down (or, for a retry-safe step, whenever it failed), 504
 * when it was too slow, 502 when it answered with an error or dropped the
 * connection mid-request.
 */
export function callFailureToAppError(
  failure: CallFailure,
  retryAfterSeconds: number,
  context: FailureContext = {},
  cause?: unknown,
): AppError {
  const options = { cause, extra: context.extra };
  const retryLater = { ...options, retryAfterSeconds };
  switch (failure.reason) {
    case 'timeout':
      return new AppError('UPSTREAM_TIMEOUT', context.message ?? 'The POS system did not answer in time; try again shortly', retryLater);
    case 'unavailable':
      return new AppError('UPSTREAM_UNAVAILABLE', context.message ?? 'The POS system is unavailable; try again shortly', retryLater);
    case 'error':
      if (context.retrySafe)
        return new AppError('UPSTREAM_UNAVAILABLE', context.message ?? 'The POS system is unavailable; try again shortly', retryLater);
      return new AppError('UPSTREAM_ERROR', context.message ?? 'The POS system answered with an error', options);
    case 'connection_lost':
      if (context.retrySafe)
        return new AppError(
          'UPSTREAM_UNAVAILABLE',
          context.message ?? 'The connection to the POS system was lost; try again shortly',
          retryLater,
        );
      return new AppError('UPSTREAM_ERROR', context.message ?? 'The connection to the POS system was lost', options);
  }
}

/** A thrown CallFailedError as the caller's error; anything else passes through unchanged. */
export function failedCallToAppError(error: unknown, retryAfterSeconds: number, context: FailureContext = {}): unknown {
  return error instanceof CallFailedError ? callFailureToAppError(error.failure, retryAfterSeconds, context, error) : error;
}
