type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVEL_RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEYS = /token|authorization|x-auth-user|password|secret/i;

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

function redact(fields: LogFields): LogFields {
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [key, SECRET_KEYS.test(key) ? '[redacted]' : value]),
  );
}

function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  return { name: error.name, message: error.message, code: (error as { code?: unknown }).code, stack: error.stack };
}

export function createLogger(base: LogFields = {}, minLevel: Level = (process.env.LOG_LEVEL as Level) || 'info'): Logger {
  const write = (level: Level, message: string, fields: LogFields = {}) => {
    if (LEVEL_RANK[level] < (LEVEL_RANK[minLevel] ?? LEVEL_RANK.info)) return;
    const entry = redact({ level, time: new Date().toISOString(), message, ...base, ...fields });
    if ('error' in entry) entry.error = serializeError(entry.error);
    process.stdout.write(`${JSON.stringify(entry)}\n`);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
    child: (fields) => createLogger({ ...base, ...fields }, minLevel),
  };
}

export const rootLogger = createLogger({ service: 'pos-basket-service' });
