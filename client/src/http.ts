import { PosTransportError } from './errors.js';

/** The platform's fetch (Node 20, browsers), or anything shaped like it: a test's scripted fake, a logging wrapper. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** One HTTP answer of the service, read whole. */
export interface Answer {
  status: number;
  headers: Headers;
  /** The parsed JSON, the text when it is not JSON, undefined when empty. */
  body: unknown;
  requestId?: string;
  /** Retry-After, in milliseconds, when the answer carries it. */
  retryAfterMs?: number;
  /** The answer is the stored one of an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

export interface Attempt {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** The attempt is abandoned (a `timeout`) after this long. */
  timeoutMs: number;
  /** The caller's signal: aborting it abandons the attempt (`aborted`). */
  signal?: AbortSignal;
}

/**
 * Error codes (Node's, undici's) of a connection that was never made: the
 * request cannot have reached the service. Any other failure (a reset, a cut
 * connection, a timeout) may come after the service acted.
 */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Sends one request and reads its answer; a failure to get one is a PosTransportError. */
export async function send(fetchFn: FetchLike, attempt: Attempt, now: () => number): Promise<Answer> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      controller.abort();
    },
    Math.max(0, attempt.timeoutMs),
  );
  const onAbort = () => controller.abort();
  if (attempt.signal?.aborted) controller.abort();
  attempt.signal?.addEventListener('abort', onAbort);
  try {
    const response = await fetchFn(attempt.url, {
      method: attempt.method,
      headers: attempt.headers,
      body: attempt.body,
      signal: controller.signal,
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: parseBody(text),
      requestId: response.headers.get('x-request-id') ?? undefined,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), now()),
      replayed: response.headers.get('idempotent-replayed') === 'true',
    };
  } catch (error) {
    if (timedOut) throw new PosTransportError('timeout', `No answer within ${attempt.timeoutMs} ms`, { cause: error });
    if (attempt.signal?.aborted) throw new PosTransportError('aborted', 'Abandoned: the caller aborted', { cause: error });
    const code = causeCode(error);
    throw new PosTransportError('network', `No answer: ${code ?? (error instanceof Error ? error.message : String(error))}`, {
      cause: error,
      notSent: code !== undefined && NEVER_CONNECTED.has(code),
    });
  } finally {
    clearTimeout(timer);
    attempt.signal?.removeEventListener('abort', onAbort);
  }
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Retry-After as delay-seconds or an HTTP date, in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The system error code behind a failed fetch (Node puts it on `cause`, sometimes one level deeper). */
function causeCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
