import { AppError } from '../errors';
import { UpstreamCallError } from './outcome';

/** Turns a failed upstream call into the caller's error: 503 when it is down, 504 when it is too slow, 502 otherwise. */
export function upstreamFailureToAppError(error: unknown, retryAfterSeconds: number): unknown {
  if (!(error instanceof UpstreamCallError)) return error;
  const { outcome } = error;
  switch (outcome.type) {
    case 'circuit_open':
    case 'connect_failed':
    case 'not_sent':
      return new AppError('UPSTREAM_UNAVAILABLE', 'The POS system is unavailable; try again shortly', { cause: error, retryAfterSeconds });
    case 'timeout':
    case 'aborted':
      return new AppError('UPSTREAM_TIMEOUT', 'The POS system did not answer in time; try again shortly', { cause: error, retryAfterSeconds });
    case 'status':
      if (outcome.status === 503 || outcome.status === 429) {
        return new AppError('UPSTREAM_UNAVAILABLE', 'The POS system is unavailable; try again shortly', { cause: error, retryAfterSeconds });
      }
      return new AppError('UPSTREAM_ERROR', 'The POS system answered with an error', { cause: error });
    case 'connection_lost':
      return new AppError('UPSTREAM_ERROR', 'The connection to the POS system was lost', { cause: error });
  }
}
