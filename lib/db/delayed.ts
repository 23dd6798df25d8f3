import type { Interpolation, JsonValue, Query, Row, Sql, SqlValue } from './sql-interface';

/**
 * A benchmark's stand-in for the RDS Data API's network: wraps a client so
 * every database round trip the Data API would make first waits `delayMs`
 * (DATABASE_CALL_DELAY_MS; lib/config.ts allows it on the local stage only).
 *
 * The model is the Data API adapter's own (lib/db/data-api.ts), one HTTPS
 * call per:
 * - statement run outside a transaction (ExecuteStatement): one wait;
 * - `begin`: one wait before the transaction (BeginTransaction), one per
 *   statement inside it (ExecuteStatement with its transactionId), one after
 *   it (CommitTransaction, or RollbackTransaction when `work` throws).
 * So a transaction of n statements waits n + 2 times, as it costs n + 2 round
 * trips on Aurora (tests/integration/data-api-round-trips.test.ts counts them
 * per repository method). Not modelled: the adapter's describe calls
 * (PREPARE, read, DEALLOCATE), made once per statement shape and container,
 * i.e. on cold containers only.
 *
 * A statement's wait comes before it runs, so a transaction holds its
 * connection (and its locks) across the waits of its statements, as a Data
 * API transaction holds its session; the commit's wait comes after the
 * commit. A query nested in another as a fragment is never run, so it never
 * waits.
 */

export interface CallDelayOptions {
  /** How to wait (tests pass a recorder); default a timer. */
  wait?: (ms: number) => Promise<void>;
  /** Called before each wait with the Data API call it stands for. */
  onCall?: (call: DataApiCall) => void;
}

export type DataApiCall = 'BeginTransaction' | 'ExecuteStatement' | 'CommitTransaction' | 'RollbackTransaction';

const timer = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `sql` itself when `delayMs` is 0; otherwise a client that waits before every round trip (see above). */
export function withCallDelay(sql: Sql, delayMs: number, options: CallDelayOptions = {}): Sql {
  if (!(delayMs > 0)) return sql;
  const wait = options.wait ?? timer;
  const roundTrip = (call: DataApiCall) => {
    options.onCall?.(call);
    return wait(delayMs);
  };
  return delayed(sql, roundTrip);
}

function delayed(sql: Sql, roundTrip: (call: DataApiCall) => Promise<void>): Sql {
  /**
   * The query object itself, so it still nests in another template as a fragment; only its first
   * `then` (run when awaited) waits before letting the driver run it, once however often it is awaited.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any row type passes through unchanged
  const afterRoundTrip = <Q extends Query<any>>(query: Q): Q => {
    const run = query.then.bind(query) as () => Promise<unknown>;
    let result: Promise<unknown> | undefined;
    const started = () => (result ??= roundTrip('ExecuteStatement').then(() => run()));
    Object.defineProperties(query, {
      then: { value: (onFulfilled?: never, onRejected?: never) => started().then(onFulfilled, onRejected) },
      catch: { value: (onRejected?: never) => started().catch(onRejected) },
      finally: { value: (onFinally?: never) => started().finally(onFinally) },
    });
    return query;
  };
  function client(first: TemplateStringsArray | readonly SqlValue[], ...values: readonly Interpolation[]) {
    if (Array.isArray(first) && 'raw' in first) return afterRoundTrip(sql(first as TemplateStringsArray, ...values));
    return sql(first as readonly SqlValue[]);
  }
  return Object.assign(client, {
    unsafe: (text: string): Query<Row[]> => afterRoundTrip(sql.unsafe(text)),
    json: (value: JsonValue) => sql.json(value),
    begin: async <T>(work: (tx: Sql) => Promise<T>): Promise<T> => {
      await roundTrip('BeginTransaction');
      let result: T;
      try {
        result = await sql.begin((tx) => work(delayed(tx, roundTrip)));
      } catch (error) {
        await roundTrip('RollbackTransaction');
        throw error;
      }
      await roundTrip('CommitTransaction');
      return result;
    },
    end: (options?: { timeout?: number }) => sql.end(options),
  }) as unknown as Sql;
}
