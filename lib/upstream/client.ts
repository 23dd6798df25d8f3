import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  fullJitterGenerator,
  handleWhen,
  retry,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import { Agent, errors as undiciErrors, request } from 'undici';
import type { CallContext } from '../call';
import { LatencyTracker, latencyKey, type AdaptiveTimeoutOptions } from './latency';
import type { UpstreamMetrics } from '../metrics';
import { countsAsUpstreamFault, statusFailure, UpstreamCallError, type CallKind, type FailureOutcome } from './outcome';
import { isRetryable } from './retry-policy';

export interface UpstreamClientOptions {
  baseUrl: string;
  callTimeoutMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  breakerFailureThreshold: number;
  breakerHalfOpenAfterMs: number;
  /**
   * Our reading of the contract's 503 (and 429): true = it comes before any effect, so it proves
   * nothing was applied and even a payment may be repeated; false = it is as ambiguous as a 500.
   */
  unavailableMeansNoEffect: boolean;
  /** Attempt timeouts of reads and order creation (calls that can be checked or safely repeated): from a configured estimate, then from observed latency. */
  adaptiveTimeout: AdaptiveTimeoutOptions;
  /** Told of every attempt (route, outcome, latency) and of the breaker opening. */
  metrics?: UpstreamMetrics;
}

/** Call kinds whose attempt timeout adapts: a timed-out one is checked (GET /orders/) or repeated, never left unknown. */
const ADAPTIVE_KINDS: ReadonlySet<CallKind> = new Set(['read', 'create-order']);

/** A call's context (lib/call.ts), and how safe the call is to repeat. */
export interface CallOptions extends CallContext {
  /** Defaults from the method: GET → read, PATCH/PUT → idempotent-write. POSTs and DELETEs must say. */
  kind?: CallKind;
}

export interface UpstreamResponse<T = unknown> {
  status: number;
  body: T;
}

/**
 * What PosApi sends its calls through: the HTTP client below, or the checkout
 * simulation's upstream (tests/simulation), which decides each call's fate.
 */
export interface UpstreamTransport {
  call(method: string, path: string, body: unknown, options: CallOptions): Promise<UpstreamResponse>;
  /** Seconds a caller should wait after the upstream was found unavailable. */
  readonly retryAfterSeconds: number;
}

/** Less than this left of the deadline and another attempt is not worth starting. */
const MIN_ATTEMPT_MS = 200;
const CONNECT_FAILURE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The one way the service talks to the upstream POS API: keep-alive
 * connections, a timeout on every attempt taken from the request deadline,
 * retries with capped exponential backoff and full jitter where the call kind
 * allows them, and a circuit breaker shared by all calls of this container.
 * Answers below 500 (except 429) are returned; everything else throws an
 * UpstreamCallError saying what is known about the attempt's effect.
 */
export class UpstreamClient implements UpstreamTransport {
  private readonly agent: Agent;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly policies: Record<CallKind, IPolicy>;
  readonly latency: LatencyTracker;

  constructor(private readonly options: UpstreamClientOptions) {
    this.latency = new LatencyTracker(options.adaptiveTimeout);
    this.agent = new Agent({ keepAliveTimeout: 4000, connections: 64, connect: { timeout: Math.min(2000, options.callTimeoutMs) } });
    this.breaker = circuitBreaker(
      handleWhen((error) => error instanceof UpstreamCallError && countsAsUpstreamFault(error.outcome)),
      { halfOpenAfter: options.breakerHalfOpenAfterMs, breaker: new ConsecutiveBreaker(options.breakerFailureThreshold) },
    );
    this.breaker.onBreak(() => options.metrics?.breakerOpened());
    const retryFor = (kind: CallKind) =>
      wrap(
        retry(
          handleWhen((error) => error instanceof UpstreamCallError && isRetryable(kind, error.outcome)),
          {
            maxAttempts: options.maxAttempts - 1,
            backoff: new ExponentialBackoff({
              generator: fullJitterGenerator,
              initialDelay: options.backoffBaseMs,
              maxDelay: options.backoffCapMs,
            }),
          },
        ),
        this.breaker,
      );
    this.policies = {
      read: retryFor('read'),
      'idempotent-write': retryFor('idempotent-write'),
      'create-order': retryFor('create-order'),
      'create-payment': retryFor('create-payment'),
      refund: retryFor('refund'),
    };
  }

  /** Seconds until the breaker lets a trial call through; the Retry-After a caller should get. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.options.breakerHalfOpenAfterMs / 1000));
  }

  get(path: string, options: CallOptions): Promise<UpstreamResponse> {
    return this.call('GET', path, undefined, options);
  }

  async call(method: string, path: string, body: unknown, options: CallOptions): Promise<UpstreamResponse> {
    const kind = options.kind ?? defaultKind(method);
    let attempt = 0;
    try {
      return await this.policies[kind].execute(() => this.attempt(method, path, body, { ...options, kind }, ++attempt));
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        options.log.warn('upstream call short-circuited', { method, path, outcome: 'circuit_open' });
        this.options.metrics?.attempt({ method, path, attempt: attempt + 1, outcome: 'circuit_open' });
        throw new UpstreamCallError({ type: 'circuit_open' }, method, path);
      }
      throw error;
    }
  }

  private async attempt(method: string, path: string, body: unknown, options: CallOptions, attempt: number): Promise<UpstreamResponse> {
    const key = latencyKey(method, path);
    const capMs =
      options.timeoutMs ??
      (ADAPTIVE_KINDS.has(options.kind!) ? this.latency.timeoutFor(key, this.options.callTimeoutMs) : this.options.callTimeoutMs);
    const timeoutMs = options.deadline.timeoutFor(capMs);
    if (timeoutMs < MIN_ATTEMPT_MS && attempt > 1) throw new UpstreamCallError({ type: 'not_sent' }, method, path);
    if (timeoutMs <= 0) throw new UpstreamCallError({ type: 'not_sent' }, method, path);
    const attemptAbort = abortAfter(timeoutMs, options.signal);
    const started = Date.now();
    const record = (fields: { status?: number; outcome?: string; error?: string }) => {
      const durationMs = Date.now() - started;
      options.log.info('upstream call', { method, path, attempt, durationMs, timeoutMs, ...fields });
      this.options.metrics?.attempt({ method, path, attempt, durationMs, status: fields.status, outcome: fields.outcome });
    };
    try {
      const response = await request(new URL(path, this.options.baseUrl), {
        method: method as 'GET',
        dispatcher: this.agent,
        signal: attemptAbort.signal,
        headers: {
          'x-auth-user': options.token,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeoutMs + 1000,
        bodyTimeout: timeoutMs + 1000,
      });
      const text = await response.body.text();
      this.latency.observe(key, Date.now() - started);
      record({ status: response.statusCode });
      const failure = statusFailure(response.statusCode, this.options.unavailableMeansNoEffect);
      if (failure) throw new UpstreamCallError(failure, method, path);
      return { status: response.statusCode, body: parseBody(text) };
    } catch (error) {
      if (error instanceof UpstreamCallError) throw error;
      const outcome = classifyFailure(error, attemptAbort.timedOut, options.signal);
      record({ outcome: outcome.type, error: error instanceof Error ? error.message : String(error) });
      throw new UpstreamCallError(outcome, method, path);
    } finally {
      attemptAbort.dispose();
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function defaultKind(method: string): CallKind {
  if (method === 'GET') return 'read';
  if (method === 'PATCH' || method === 'PUT') return 'idempotent-write';
  throw new Error(`Upstream ${method} calls must declare their kind`);
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * An abort signal for one attempt: fires after `ms`, or when the caller's
 * signal does. Built from a plain timer rather than AbortSignal.timeout/any,
 * whose signals Node 20 may garbage-collect before they fire (nodejs/node
 * #57736), which leaves a request hanging until the Lambda times out.
 */
function abortAfter(ms: number, callerSignal?: AbortSignal) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`attempt timed out after ${ms} ms`));
  }, ms);
  const forward = () => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted) forward();
  else callerSignal?.addEventListener('abort', forward, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', forward);
    },
  };
}

function classifyFailure(error: unknown, timedOut: boolean, callerSignal?: AbortSignal): FailureOutcome {
  const code = (error as { code?: string }).code;
  const causeCode = ((error as { cause?: { code?: string } }).cause ?? {}).code;
  if ((code && CONNECT_FAILURE_CODES.has(code)) || (causeCode && CONNECT_FAILURE_CODES.has(causeCode))) {
    return { type: 'connect_failed' };
  }
  if (callerSignal?.aborted) return { type: 'aborted' };
  if (timedOut || error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return { type: 'timeout' };
  }
  return { type: 'connection_lost' };
}
