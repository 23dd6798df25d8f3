import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';

/**
 * Structured JSON logs through Powertools Logger: one line per entry with
 * Powertools' own keys (level, message, timestamp, service, cold_start,
 * function_name, function_request_id, sampling_rate, correlation_id, …) and
 * ours (requestId, route, userId, orderId, …). The rest of the code sees only
 * the small `Logger` interface below, so it never depends on Powertools.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export const SERVICE_NAME = 'pos-basket-service';

/** Keys whose values never reach a log line, at any depth (ownerTokenSealed included). */
const SECRET_KEYS = /token|authorization|x-auth-user|password|secret/i;
/** A JWT (three base64url parts, the first a JSON header) inside any string value, e.g. an error message. */
const JWT = /eyJ[\w-]*\.[\w-]+\.[\w-]*/g;
export const REDACTED = '[redacted]';

/**
 * The JSON replacer Powertools applies to every key of every entry, nested
 * objects and formatted errors included: secret keys lose their values, and
 * anything shaped like a JWT is cut out of strings.
 */
export function redact(key: string, value: unknown): unknown {
  if (key !== '' && SECRET_KEYS.test(key)) return REDACTED;
  if (typeof value === 'string' && value.includes('eyJ')) return value.replace(JWT, REDACTED);
  return value;
}

/** Powertools' own keys, which fields may not overwrite (it would drop them with a warning). */
const RESERVED = new Set(['level', 'message', 'sampling_rate', 'service', 'timestamp']);

function sampleRateFromEnv(): number | undefined {
  const value = Number(process.env.LOG_SAMPLE_RATE);
  return process.env.LOG_SAMPLE_RATE && value >= 0 && value <= 1 ? value : undefined;
}

/**
 * A Powertools logger as this service configures it: level from LOG_LEVEL
 * (unless given), debug sampling from LOG_SAMPLE_RATE (that share of
 * invocations logs at debug; refreshed per invocation by the
 * injectLambdaContext middleware), and the redacting replacer.
 */
export function createPowertoolsLogger(level?: Level): PowertoolsLogger {
  return new PowertoolsLogger({
    serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME,
    logLevel: (level ?? process.env.LOG_LEVEL ?? 'info').toUpperCase() as 'INFO',
    sampleRateValue: sampleRateFromEnv(),
    jsonReplacerFn: redact,
  });
}

/** Our Logger over a Powertools one: a child only adds fields, so every entry of an invocation shares one sampling decision. */
export function wrap(sink: PowertoolsLogger, base: LogFields = {}): Logger {
  const write = (level: Level, message: string, fields?: LogFields) => {
    const entry: LogFields = { ...base, ...fields };
    for (const key of Object.keys(entry)) {
      if (RESERVED.has(key)) {
        entry[`field_${key}`] = entry[key];
        delete entry[key];
      }
    }
    sink[level](message, entry);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
    child: (fields) => wrap(sink, { ...base, ...fields }),
  };
}

/** A logger of its own (tests, tools): `createLogger({}, 'error')` logs errors only. */
export function createLogger(base: LogFields = {}, minLevel?: Level): Logger {
  return wrap(createPowertoolsLogger(minLevel), base);
}

/**
 * The container's Powertools logger. The handler middleware gives it the
 * Lambda context (cold_start, function_*), the request's correlation id, and
 * a fresh sampling decision on every invocation.
 */
export const powertoolsLogger = createPowertoolsLogger();

export const rootLogger: Logger = wrap(powertoolsLogger);
