import postgres from 'postgres';
import { config } from '../config';
import type * as DataApi from './data-api';
import { chooseDriver, type DriverChoice } from './driver';

/**
 * The part of postgres.js the repositories, the idempotency store and the
 * migration runner use, as an interface of our own. postgres.js satisfies it
 * as is; the RDS Data API adapter (data-api.ts) implements it too, so the same
 * tagged-template queries run on either driver. Both return the same JS
 * types: timestamptz → Date, bigint and int → number, uuid and text → string,
 * jsonb → parsed value, boolean → boolean, null → null.
 */
export interface Sql extends SqlCallable {
  /** Raw SQL: nested in a template it is pasted in as is; awaited on its own it runs (a script of several statements too). */
  unsafe(text: string): Query<Row[]>;
  /** A jsonb parameter. */
  json(value: JsonValue): JsonParameter;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  begin<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
  end(options?: { timeout?: number }): Promise<void>;
}

/**
 * `sql\`…${value}…\``: a query whose interpolated values become parameters
 * (a nested query is a fragment, pasted in with its own parameters); run when
 * awaited. `sql(values)`: a list of parameters for `in ${sql(values)}`.
 * Declared as methods so postgres.js, whose signatures accept more than
 * ours, still satisfies them.
 */
interface SqlSignatures {
  query<T extends readonly object[] = Row[]>(template: TemplateStringsArray, ...values: readonly Interpolation[]): Query<T>;
  list(values: readonly SqlValue[]): ListHelper;
}
type SqlCallable = SqlSignatures['query'] & SqlSignatures['list'];

export interface Row {
  [column: string]: any; // each query types its rows with a type argument
}

/** The rows, and how many rows the statement returned or changed. */
export type Result<T extends readonly object[]> = T & { readonly count: number };

export interface Query<T extends readonly object[] = Row[]> extends Promise<Result<T>> {}

export interface ListHelper {
  readonly first: unknown;
  readonly rest: unknown;
}

export interface JsonParameter {
  readonly type: number;
  readonly value: unknown;
}

export type JsonValue = null | string | number | boolean | readonly JsonValue[] | { readonly [key: string]: JsonValue | undefined };

/** A value that becomes one parameter. `undefined` is sent as null. */
export type SqlValue = string | number | boolean | Date | null | undefined;

/** What may stand in `${…}` of a query (the Data API adapter refuses arrays and bytes at run time). */
export type Interpolation = SqlValue | Uint8Array | Query<any> | ListHelper | JsonParameter | readonly Interpolation[];

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
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { connectDataApi } = require('./data-api') as typeof DataApi;
  return connectDataApi({ resourceArn: choice.resourceArn, secretArn: choice.secretArn, database: choice.database, region: choice.region, endpoint: choice.endpoint });
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
    client = connectTo(choice, { max: settings.DATABASE_POOL_MAX, idleTimeoutSeconds: settings.DATABASE_IDLE_TIMEOUT_SECONDS });
  }
  return client;
}

export async function closeDb(): Promise<void> {
  const current = client;
  client = undefined;
  await current?.end({ timeout: 5 });
}
