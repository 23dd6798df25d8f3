import { AppError } from '../errors';
import { isTimeout, UpstreamCallError } from './outcome';

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
 * The one mapping from a failed upstream call to the caller's error: 503 when
 * the upstream is down (or, for a retry-safe step, whenever it failed), 504
 * when it was too slow, 502 when it answered with an error or dropped the
 * connection mid-request. Anything that is not an UpstreamCallError passes through.
 */
export function upstreamFailureToAppError(error: unknown, retryAfterSeconds: number, context: FailureContext = {}): unknown {
  if (!(error instanceof UpstreamCallError)) return error;
  const { outcome } = error;
  const options = { cause: error, extra: context.extra };
  const retryLater = { ...options, retryAfterSeconds };
  if (isTimeout(outcome)) return new AppError('UPSTREAM_TIMEOUT', context.message ?? 'The POS system did not answer in time; try again shortly', retryLater);
  switch (outcome.type) {
    case 'unavailable':
    case 'circuit_open':
    case 'connect_failed':
    case 'not_sent':
      return new AppError('UPSTREAM_UNAVAILABLE', context.message ?? 'The POS system is unavailable; try again shortly', retryLater);
    case 'status':
      if (context.retrySafe || outcome.status === 503 || outcome.status === 429) {
        return new AppError('UPSTREAM_UNAVAILABLE', context.message ?? 'The POS system is unavailable; try again shortly', retryLater);
      }
      return new AppError('UPSTREAM_ERROR', context.message ?? 'The POS system answered with an error', options);
    case 'connection_lost':
      if (context.retrySafe) return new AppError('UPSTREAM_UNAVAILABLE', context.message ?? 'The connection to the POS system was lost; try again shortly', retryLater);
      return new AppError('UPSTREAM_ERROR', context.message ?? 'The connection to the POS system was lost', options);
  }
}
