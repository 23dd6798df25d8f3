import { randomBytes } from 'node:crypto';
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
  type ArrayValue,
  type ColumnMetadata,
  type ExecuteStatementCommandOutput,
  type Field,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import type { Interpolation, JsonParameter, JsonValue, ListHelper, Query, Result, Row, Sql } from './sql-interface';
import { splitStatements, stripComments } from './statements';

/**
 * The `Sql` interface over the RDS Data API (@aws-sdk/client-rds-data), so
 * the repositories' postgres.js tagged templates run unchanged on Aurora.
 *
 * Every statement is one ExecuteStatement call with named parameters
 * (`:p1`, `:p2`, …) and `sql.begin` is BeginTransaction … CommitTransaction
 * (or RollbackTransaction), the statements in between carrying its
 * transactionId. Results come back as typed records with column metadata and
 * are turned into the JS types postgres.js gives.
 *
 * Parameter types: postgres.js sends strings and numbers untyped and lets
 * Postgres infer each parameter's type from where it stands (Parse/Describe
 * once per statement and connection). The Data API instead sends every
 * string as `character varying`, so `id = :p1` on a uuid column fails
 * ("operator does not exist: uuid = character varying"), and guessing from the
 * value is wrong too (a UUID-looking idempotency key goes into a text column).
 * So the adapter asks Postgres, once per statement shape and container: it
 * PREPAREs the statement with untyped parameters, reads the inferred types
 * from pg_prepared_statements and DEALLOCATEs it (3 calls inside the caller's
 * transaction, 5 outside one), then sends each parameter as
 * `CAST(:pN AS <inferred type>)`. A Date, boolean or jsonb parameter has the
 * type postgres.js would give it (timestamptz, boolean, jsonb) without asking.
 */

export interface DataApiOptions {
  /** The Aurora cluster ARN. */
  resourceArn: string;
  /** The Secrets Manager secret with the database credentials. */
  secretArn: string;
  database: string;
  region?: string;
  /** Another endpoint than AWS's, e.g. a local emulator. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Called with the command name before every Data API call (round-trip counting in tests). */
  onCall?: (command: 'BeginTransaction' | 'ExecuteStatement' | 'CommitTransaction' | 'RollbackTransaction') => void;
}

/** A failed Data API call; `code` is the Postgres SQLSTATE when the Data API's message names it. */
export class DataApiError extends Error {
  override readonly name = 'DataApiError';
  readonly code?: string;
  /** The Data API's exception, e.g. BadRequestException or DatabaseErrorException. */
  readonly awsError: string;

  constructor(cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(message, { cause });
    this.code = /SQLState:\s*([0-9A-Z]{5})/.exec(message)?.[1];
    this.awsError = cause instanceof Error ? cause.name : 'Error';
  }
}

export function connectDataApi(options: DataApiOptions): Sql {
  return sqlFor(new Session(new DataApi(options), undefined));
}

// ---------------------------------------------------------------------------
// Statements: template strings and parameter slots, as the caller wrote them

/** A parameter: one value, with the type postgres.js would fix for it (otherwise Postgres infers it). */
interface Slot {
  kind: 'value';
  value: unknown;
  fixedType?: string;
}

/** `in ${sql(values)}`: a parenthesised list of parameters of one inferred type. */
interface ListSlot {
  kind: 'list';
  values: readonly unknown[];
}

type Chunk = string | Slot | ListSlot;

const JSONB = 3802;

class JsonParam implements JsonParameter {
  readonly type = JSONB;
  constructor(readonly value: JsonValue) {}
}

class ValueList implements ListHelper {
  readonly rest: readonly unknown[] = [];
  constructor(readonly first: readonly unknown[]) {}
}

/** A query: runs when first awaited; nested in another query it is a fragment and never runs. */
class DataApiQuery implements Promise<Result<Row[]>> {
  readonly [Symbol.toStringTag] = 'DataApiQuery';
  private running?: Promise<Result<Row[]>>;

  constructor(
    readonly chunks: readonly Chunk[],
    private readonly session: Session,
    /** sql.unsafe(): may hold several statements. */
    readonly script: boolean,
  ) {}

  then<A = Result<Row[]>, B = never>(
    onFulfilled?: ((value: Result<Row[]>) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.running ??= this.script ? this.session.runScript(this.chunks.join('')) : this.session.run(this.chunks);
    return this.running.then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<Result<Row[]> | B> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<Result<Row[]>> {
    return this.then(
      (value) => (onFinally?.(), value),
      (reason) => {
        onFinally?.();
        throw reason;
      },
    );
  }
}

function templateChunks(strings: TemplateStringsArray, values: readonly unknown[]): Chunk[] {
  const chunks: Chunk[] = [strings[0]];
  values.forEach((value, i) => {
    chunks.push(...interpolate(value, strings[i]));
    chunks.push(strings[i + 1]);
  });
  return chunks;
}

function interpolate(value: unknown, before: string): Chunk[] {
  if (value instanceof DataApiQuery) return [...value.chunks];
  if (value instanceof ValueList) {
    if (!/\bin\s*$/i.test(before)) throw new TypeError('The Data API adapter supports sql(values) only as an IN list: `in ${sql(values)}`');
    return [{ kind: 'list', values: value.first }];
  }
  if (value instanceof JsonParam) return [{ kind: 'value', value: JSON.stringify(value.value), fixedType: 'jsonb' }];
  if (Array.isArray(value))
    throw new TypeError('The Data API adapter does not send arrays as parameters; use `in ${sql(values)}` for a list');
  return [{ kind: 'value', value: value === undefined ? null : value, fixedType: fixedType(value) }];
}

/** The type postgres.js sends a value as; undefined where it lets Postgres infer one (strings, numbers, null). */
function fixedType(value: unknown): string | undefined {
  if (value instanceof Date) return 'timestamptz';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'bigint') return 'bigint';
  if (value instanceof Uint8Array) return 'bytea';
  return undefined;
}

/** The statement for PREPARE: `$n` placeholders, an IN list as one (its items all take the type Postgres infers for it). */
function describeText(chunks: readonly Chunk[]): { text: string; declared: string[] } {
  const declared: string[] = [];
  const text = chunks
    .map((chunk) => {
      if (typeof chunk === 'string') return chunk;
      if (chunk.kind === 'value') return `$${declared.push(chunk.fixedType ?? 'unknown')}`;
      if (chunk.values.length === 0) return '(null)';
      const types = new Set(chunk.values.map(fixedType));
      return `($${declared.push(types.size === 1 ? ([...types][0] ?? 'unknown') : 'unknown')})`;
    })
    .join('');
  return { text: stripComments(text), declared };
}

/** The statement to execute: every parameter `CAST(:pN AS type)` with the described types. */
function executable(chunks: readonly Chunk[], types: readonly string[]): { sql: string; parameters: SqlParameter[] } {
  const parameters: SqlParameter[] = [];
  const param = (value: unknown, type: string) => {
    const name = `p${parameters.length + 1}`;
    parameters.push({ name, value: field(value) });
    return `CAST(:${name} AS ${type})`;
  };
  let slot = 0;
  const text = chunks
    .map((chunk) => {
      if (typeof chunk === 'string') return chunk;
      if (chunk.kind === 'value') return param(chunk.value, types[slot++]);
      if (chunk.values.length === 0) return '(null)';
      const type = types[slot++];
      return `(${chunk.values.map((value) => param(value === undefined ? null : value, type)).join(', ')})`;
    })
    .join('');
  return { sql: stripComments(text), parameters };
}

/** A JS value as a Data API field, in the text form Postgres reads for the cast type (as postgres.js serialises it). */
function field(value: unknown): Field {
  if (value === null || value === undefined) return { isNull: true };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { booleanValue: value };
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return { longValue: value };
    return Number.isFinite(value) ? { doubleValue: value } : { stringValue: String(value) };
  }
  if (typeof value === 'bigint') return { stringValue: String(value) };
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new RangeError('Invalid Date as a query parameter');
    return { stringValue: value.toISOString() };
  }
  if (value instanceof Uint8Array) return { blobValue: value };
  throw new TypeError(
    `Cannot send a ${typeof value === 'object' ? 'plain object' : typeof value} as a query parameter; use sql.json() for jsonb`,
  );
}

// ---------------------------------------------------------------------------
// Results: typed records + column metadata → rows of postgres.js types

function toResult(output: ExecuteStatementCommandOutput): Result<Row[]> {
  const columns = output.columnMetadata ?? [];
  const rows: Row[] = (output.records ?? []).map((record) => {
    const row: Row = {};
    columns.forEach((column, i) => {
      row[column.label ?? column.name ?? '?column?'] = decode(record[i], column);
    });
    return row;
  });
  // A statement with a result set counts its rows (as postgres.js does); any other, the rows it changed.
  return withCount(rows, columns.length > 0 ? rows.length : (output.numberOfRecordsUpdated ?? 0));
}

/** Not enumerable, as on postgres.js results: the rows compare equal to a plain array of them. */
function withCount(rows: Row[], count: number): Result<Row[]> {
  return Object.defineProperty(rows, 'count', { value: count, enumerable: false }) as Result<Row[]>;
}

function decode(value: Field | undefined, column: ColumnMetadata): unknown {
  if (value === undefined || value.isNull) return null;
  const typeName = (column.typeName ?? '').toLowerCase();
  if (value.arrayValue !== undefined) return decodeArray(value.arrayValue, typeName.replace(/^_/, ''));
  return decodeScalar(value.stringValue ?? value.longValue ?? value.doubleValue ?? value.booleanValue ?? value.blobValue, typeName);
}

function decodeArray(array: ArrayValue, elementType: string): unknown[] {
  if (array.arrayValues) return array.arrayValues.map((inner) => (inner ? decodeArray(inner, elementType) : null));
  const items: readonly unknown[] = array.stringValues ?? array.longValues ?? array.doubleValues ?? array.booleanValues ?? [];
  return items.map((item) => (item === null || item === undefined ? null : decodeScalar(item, elementType)));
}

function decodeScalar(raw: unknown, typeName: string): unknown {
  switch (typeName) {
    case 'int8':
    case 'bigserial': {
      const parsed = Number(raw);
      if (!Number.isSafeInteger(parsed)) throw new RangeError(`bigint ${String(raw)} exceeds the safe integer range`);
      return parsed;
    }
    case 'int2':
    case 'int4':
    case 'serial':
    case 'oid':
    case 'float4':
    case 'float8':
      return typeof raw === 'number' ? raw : Number(raw);
    case 'bool':
      return typeof raw === 'boolean' ? raw : raw === 't' || raw === 'true';
    case 'timestamptz':
    case 'timestamp':
    case 'date':
      return parseTimestamp(String(raw));
    case 'json':
    case 'jsonb':
      return typeof raw === 'string' ? JSON.parse(raw) : raw;
    case 'bytea':
      return raw instanceof Uint8Array ? Buffer.from(raw) : raw;
    default:
      return raw; // text, varchar, uuid, numeric (a string, as postgres.js gives it), …
  }
}

const TIMESTAMP = /^(\d{4,})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?(?::?\d{2})?)?$/i;

/**
 * A Data API timestamp as a Date. AWS sends `2024-05-01 12:34:56.123456` in
 * UTC without an offset; a string with an offset (or an emulator's ISO form)
 * is read with it. Sub-millisecond digits are dropped, as postgres.js does.
 */
export function parseTimestamp(text: string): Date {
  const match = TIMESTAMP.exec(text.trim());
  if (!match) return new Date(text); // infinity, BC dates: an Invalid Date, as in postgres.js
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone] = match;
  const date = new Date(
    Date.UTC(
      2000,
      Number(month) - 1,
      Number(day),
      Number(hour),
      Number(minute),
      Number(second),
      Number(fraction.slice(0, 3).padEnd(3, '0')),
    ),
  );
  date.setUTCFullYear(Number(year));
  if (zone && zone.toUpperCase() !== 'Z') {
    const [, sign, hours, minutes = '0', seconds = '0'] = /^([+-])(\d{2}):?(\d{2})?:?(\d{2})?$/.exec(zone)!;
    const offsetMs = ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
    date.setTime(date.getTime() - (sign === '-' ? -offsetMs : offsetMs));
  }
  return date;
}

// ---------------------------------------------------------------------------
// Calls

const DESCRIBED_SHAPES_KEPT = 2000;

class DataApi {
  private readonly client: RDSDataClient;
  private readonly target: { resourceArn: string; secretArn: string; database: string };
  /** Parameter types per statement shape (PREPARE text + declared types), learned once per container. */
  private readonly parameterTypes = new Map<string, readonly string[]>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private ended = false;

  constructor(private readonly options: DataApiOptions) {
    this.target = { resourceArn: options.resourceArn, secretArn: options.secretArn, database: options.database };
    this.client = new RDSDataClient({
      region: options.region,
      endpoint: options.endpoint,
      credentials: options.credentials,
      // No hidden retries: a statement whose answer was lost may have run, and the SDK's
      // retry would run it again (postgres.js does not retry either). Callers decide.
      maxAttempts: 1,
    });
  }

  async execute(sql: string, parameters: SqlParameter[], transactionId: string | undefined): Promise<Result<Row[]>> {
    const output = await this.send('ExecuteStatement', () =>
      this.client.send(new ExecuteStatementCommand({ ...this.target, sql, parameters, transactionId, includeResultMetadata: true })),
    );
    return toResult(output);
  }

  async begin(): Promise<string> {
    const { transactionId } = await this.send('BeginTransaction', () => this.client.send(new BeginTransactionCommand(this.target)));
    if (!transactionId) throw new DataApiError(new Error('BeginTransaction returned no transactionId'));
    return transactionId;
  }

  async commit(transactionId: string): Promise<void> {
    await this.send('CommitTransaction', () =>
      this.client.send(
        new CommitTransactionCommand({ resourceArn: this.target.resourceArn, secretArn: this.target.secretArn, transactionId }),
      ),
    );
  }

  async rollback(transactionId: string): Promise<void> {
    await this.send('RollbackTransaction', () =>
      this.client.send(
        new RollbackTransactionCommand({ resourceArn: this.target.resourceArn, secretArn: this.target.secretArn, transactionId }),
      ),
    );
  }

  knownTypes(key: string): readonly string[] | undefined {
    return this.parameterTypes.get(key);
  }

  /** Asks Postgres which types it infers for the statement's parameters; must run in a transaction (one session). */
  async describe(key: string, text: string, declared: readonly string[], transactionId: string): Promise<readonly string[]> {
    const name = `data_api_describe_${randomBytes(8).toString('hex')}`;
    await this.execute(`PREPARE ${name} (${declared.join(', ')}) AS ${text}`, [], transactionId);
    const rows = await this.execute(
      `SELECT p.type::text AS type FROM pg_prepared_statements s, unnest(s.parameter_types) WITH ORDINALITY AS p(type, position) WHERE s.name = '${name}' ORDER BY p.position`,
      [],
      transactionId,
    );
    await this.execute(`DEALLOCATE ${name}`, [], transactionId);
    const types = rows.map((row) => String(row.type));
    if (types.length !== declared.length)
      throw new Error(`Postgres described ${types.length} parameters for a statement with ${declared.length}`);
    if (this.parameterTypes.size >= DESCRIBED_SHAPES_KEPT) this.parameterTypes.clear();
    this.parameterTypes.set(key, types);
    return types;
  }

  async end(): Promise<void> {
    this.ended = true;
    await Promise.allSettled([...this.inFlight]);
    this.client.destroy();
  }

  private async send<T>(command: Parameters<NonNullable<DataApiOptions['onCall']>>[0], call: () => Promise<T>): Promise<T> {
    if (this.ended) throw new Error('The Data API client has been ended');
    this.options.onCall?.(command);
    const pending = call();
    this.inFlight.add(pending);
    try {
      return await pending;
    } catch (error) {
      throw new DataApiError(error);
    } finally {
      this.inFlight.delete(pending);
    }
  }
}

/**
 * Where statements run: outside a transaction (each call commits on its own,
 * calls may overlap) or inside one (calls carry its id and run one at a time,
 * as on a postgres.js connection).
 */
class Session {
  private queue: Promise<unknown> = Promise.resolve();
  private finished = false;

  constructor(
    readonly api: DataApi,
    readonly transactionId: string | undefined,
  ) {}

  run(chunks: readonly Chunk[]): Promise<Result<Row[]>> {
    return this.exclusive(async () => {
      const slots = chunks.filter((chunk) => typeof chunk !== 'string');
      if (slots.length === 0) return this.api.execute(stripComments(chunks.join('')), [], this.transactionId);
      const types = await this.typesFor(chunks);
      const { sql, parameters } = executable(chunks, types);
      return this.api.execute(sql, parameters, this.transactionId);
    });
  }

  /** sql.unsafe(): one call per statement; outside a transaction the script runs in one, all or nothing, as a simple query does. */
  runScript(script: string): Promise<Result<Row[]>> {
    const statements = splitStatements(script);
    if (statements.length <= 1 || this.transactionId) {
      return this.exclusive(async () => {
        let last = withCount([], 0);
        for (const statement of statements) last = await this.api.execute(statement, [], this.transactionId);
        return last;
      });
    }
    return this.transaction((tx) => tx.runScript(script));
  }

  async transaction<T>(work: (tx: Session) => Promise<T>): Promise<T> {
    if (this.transactionId) throw new Error('The Data API adapter has no nested transactions (savepoints)');
    const transactionId = await this.api.begin();
    const tx = new Session(this.api, transactionId);
    let result: T;
    try {
      result = await work(tx);
      await tx.finish();
    } catch (error) {
      await tx.finish();
      await this.api.rollback(transactionId).catch(() => undefined); // the transaction may already be gone; the first error is the one to report
      throw error;
    }
    try {
      await this.api.commit(transactionId);
    } catch (error) {
      // The commit's answer was lost, or it failed: if the transaction is still open, free its locks now, not in 3 minutes.
      await this.api.rollback(transactionId).catch(() => undefined);
      throw error;
    }
    return result;
  }

  private async typesFor(chunks: readonly Chunk[]): Promise<readonly string[]> {
    const { text, declared } = describeText(chunks);
    if (!declared.includes('unknown')) return declared;
    const key = `${declared.join(',')}\u0000${text}`;
    const known = this.api.knownTypes(key);
    if (known) return known;
    if (this.transactionId) return this.api.describe(key, text, declared, this.transactionId);
    const transactionId = await this.api.begin();
    try {
      return await this.api.describe(key, text, declared, transactionId);
    } finally {
      await this.api.rollback(transactionId).catch(() => undefined);
    }
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.finished) return Promise.reject(new Error('This transaction has already ended'));
    if (!this.transactionId) return work();
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Waits for statements still queued in the transaction, then refuses new ones. */
  private async finish(): Promise<void> {
    await this.queue;
    this.finished = true;
  }
}

function sqlFor(session: Session): Sql {
  function sql(first: TemplateStringsArray | readonly unknown[], ...values: readonly Interpolation[]): DataApiQuery | ValueList {
    if (Array.isArray(first) && 'raw' in first)
      return new DataApiQuery(templateChunks(first as TemplateStringsArray, values), session, false);
    if (Array.isArray(first)) return new ValueList(first);
    throw new TypeError('sql must be called as a tagged template or with an array of values');
  }
  return Object.assign(sql, {
    unsafe: (text: string) => new DataApiQuery([text], session, true) as Query<Row[]>,
    json: (value: JsonValue) => new JsonParam(value),
    begin: <T>(work: (tx: Sql) => Promise<T>) => session.transaction((tx) => work(sqlFor(tx))),
    end: () => session.api.end(),
  }) as unknown as Sql;
}
