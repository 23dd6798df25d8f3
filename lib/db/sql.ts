import postgres from 'postgres';
import { config } from '../config';
import type * as DataApi from './data-api';
import { withCallDelay } from './delayed';
import { chooseDriver, type DriverChoice } from './driver';
import type { Sql } from './sql-interface';

/** The interface the repositories use (lib/db/sql-interface.ts); postgres.js and the Data API adapter both satisfy it. */
export type { Interpolation, JsonParameter, JsonValue, ListHelper, Query, Result, Row, Sql, SqlValue } from './sql-interface';

/** The full postgres.js client, for tests and tooling that need more than `Sql`. */
export type PostgresSql = postgres.Sql;

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

/** A postgres.js pool. */
export function connect(url: string, options: { max?: number; idleTimeoutSeconds?: number } = {}): PostgresSql {
  return postgres(url, {
    max: options.max ?? 3,
    idle_timeout: options.idleTimeoutSeconds ?? 20,
    connect_timeout: 10,
    onnotice: () => undefined,
    types: { bigint: minorUnitsBigint },
    transform: { undefined: null },
  });
}

/** A client for the chosen driver: a postgres.js pool, or the Data API adapter (which has no pool: each call is an HTTPS request). */
export function connectTo(choice: DriverChoice, options: { max?: number; idleTimeoutSeconds?: number } = {}): Sql {
  if (choice.kind === 'postgres') return connect(choice.url, options);
  // Loaded only when chosen, so a postgres.js container never spends its cold start evaluating the AWS SDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, for the reason above
  const { connectDataApi } = require('./data-api') as typeof DataApi;
  return connectDataApi({
    resourceArn: choice.resourceArn,
    secretArn: choice.secretArn,
    database: choice.database,
    region: choice.region,
    endpoint: choice.endpoint,
  });
}

/**
 * The container's shared client for the configured driver, created on first
 * use and reused across warm invocations. The postgres.js pool is small on
 * purpose: each Lambda container serves one request at a time.
 */
export function db(): Sql {
  if (!client) {
    const settings = config();
    const choice = chooseDriver(settings);
    if ('problem' in choice) throw new Error(`Invalid configuration: ${choice.problem}`); // config() already refused this
    const connected = connectTo(choice, { max: settings.DATABASE_POOL_MAX, idleTimeoutSeconds: settings.DATABASE_IDLE_TIMEOUT_SECONDS });
    // A benchmark's stand-in for the Data API's round trips (local stage only; 0, the default, returns the client itself).
    client = withCallDelay(connected, settings.DATABASE_CALL_DELAY_MS);
  }
  return client;
}

export async function closeDb(): Promise<void> {
  const current = client;
  client = undefined;
  await current?.end({ timeout: 5 });
}
