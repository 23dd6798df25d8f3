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
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- an untyped row; each query types its rows with a type argument
  [column: string]: any;
}

/** The rows, and how many rows the statement returned or changed. */
export type Result<T extends readonly object[]> = T & { readonly count: number };

/** A statement, run when awaited (a named type, so a nested query can be told from a value). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a named alias of the promise, kept as an interface for readable compiler messages
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
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a nested query of any row type
export type Interpolation = SqlValue | Uint8Array | Query<any> | ListHelper | JsonParameter | readonly Interpolation[];
