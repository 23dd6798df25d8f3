import { AppError } from '../errors';

export interface RenderedError {
  status: number;
  body: string;
  headers: Record<string, string>;
}

export const INTERNAL_ERROR_BODY = JSON.stringify({ error: { code: 'INTERNAL', message: 'Internal error' } });

/** The one rendering of an error as HTTP, shared by the error middleware and the Idempotency-Key store. */
export function renderError(error: unknown): RenderedError {
  if (!(error instanceof AppError)) return { status: 500, body: INTERNAL_ERROR_BODY, headers: {} };
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterSeconds)));
  const body = JSON.stringify({
    error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}), ...error.extra },
  });
  return { status: error.status, body, headers };
}
