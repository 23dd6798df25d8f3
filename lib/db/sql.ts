import postgres from 'postgres';
import { config } from '../config';

export type Sql = postgres.Sql;

let client: Sql | undefined;

/** bigint columns hold minor units; as JS numbers they stay exact up to 2^53, far beyond any basket. */
const minorUnitsBigint = {
  to: 20,
  from: [20],
  serialize: (value: number | bigint) => String(value),
  parse: (value: string) => {
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed)) throw new RangeError(`bigint ${value} exceeds the safe integer range`);
    return parsed;
  },
};

export function connect(url: string, options: { max?: number; idleTimeoutSeconds?: number } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 3,
    idle_timeout: options.idleTimeoutSeconds ?? 20,
    connect_timeout: 10,
    onnotice: () => undefined,
    types: { bigint: minorUnitsBigint },
    transform: { undefined: null },
  });
}

/**
 * The container's shared pool, created on first use and reused across warm
 * invocations. Small on purpose: each Lambda container serves one request at a time.
 */
export function db(): Sql {
  if (!client) {
    const { DATABASE_URL, DATABASE_POOL_MAX, DATABASE_IDLE_TIMEOUT_SECONDS } = config();
    if (!DATABASE_URL) throw new Error('DATABASE_URL is not set: this build has no Data API (DATA_API_*) driver');
    client = connect(DATABASE_URL, { max: DATABASE_POOL_MAX, idleTimeoutSeconds: DATABASE_IDLE_TIMEOUT_SECONDS });
  }
  return client;
}

export async function closeDb(): Promise<void> {
  const current = client;
  client = undefined;
  await current?.end({ timeout: 5 });
}
