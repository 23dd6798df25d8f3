import type { DataApiOptions } from '../../lib/db/data-api';
import { withCallDelay, type DataApiCall } from '../../lib/db/delayed';
import type { Sql } from '../../lib/db/sql';
import { drivers } from '../support/drivers';

type Recorded = Array<DataApiCall | `wait ${number}`>;

/** A client of `driver` behind the delay wrapper, recording each call the wrapper stands for and each wait (no real waiting). */
function recorded(driver: (typeof drivers)[number], onAdapterCall?: DataApiOptions['onCall']): { sql: Sql; log: Recorded; inner: Sql } {
  const log: Recorded = [];
  const inner = driver.connect({ max: 2, onCall: onAdapterCall });
  const sql = withCallDelay(inner, 7, {
    onCall: (call) => log.push(call),
    wait: async (ms) => {
      log.push(`wait ${ms}`);
    },
  });
  return { sql, log, inner };
}

describe.each(drivers)('DATABASE_CALL_DELAY_MS: a wait per Data API round trip ($name)', (driver) => {
  const clients: Sql[] = [];
  afterAll(() => Promise.all(clients.map((sql) => sql.end())));
  const make = (onAdapterCall?: DataApiOptions['onCall']) => {
    const made = recorded(driver, onAdapterCall);
    clients.push(made.inner);
    return made;
  };

  it('waits once before a statement, however often it is awaited, and never for a fragment nested in it', async () => {
    const { sql, log } = make();
    const fragment = sql`and ${2} = 2`;
    const query = sql`select 1 as one where true ${fragment}`;

    expect(log).toEqual([]); // nothing runs before it is awaited
    expect(await query).toEqual([{ one: 1 }]);
    await query;
    expect(log).toEqual(['ExecuteStatement', 'wait 7']);

    await sql.unsafe('select 1');
    expect(log).toEqual(['ExecuteStatement', 'wait 7', 'ExecuteStatement', 'wait 7']);
  });

  it('a transaction of n statements waits n + 2 times: begin, each statement, commit (or rollback)', async () => {
    const { sql, log } = make();
    const rows = await sql.begin(async (tx) => {
      await tx`select 1`;
      return tx`select ${'a'}::text as a where ${'x'} in ${tx(['x', 'y'])}`;
    });
    expect(rows).toEqual([{ a: 'a' }]);
    expect(log.filter((entry) => !entry.startsWith('wait'))).toEqual([
      'BeginTransaction',
      'ExecuteStatement',
      'ExecuteStatement',
      'CommitTransaction',
    ]);
    expect(log.filter((entry) => entry === 'wait 7')).toHaveLength(4);

    log.length = 0;
    await expect(
      sql.begin(async (tx) => {
        await tx`select 1`;
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(log.filter((entry) => !entry.startsWith('wait'))).toEqual(['BeginTransaction', 'ExecuteStatement', 'RollbackTransaction']);
  });

  it('really waits', async () => {
    const inner = driver.connect({ max: 1 });
    clients.push(inner);
    const sql = withCallDelay(inner, 40);
    await inner`select 1`; // connected (and the statement's shape described) before timing
    await sql`select 1`;
    const started = performance.now();
    await sql`select 1`;
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
  });

  it('is the client itself at 0 ms', () => {
    const inner = driver.connect({ max: 1 });
    clients.push(inner);
    expect(withCallDelay(inner, 0)).toBe(inner);
  });

  if (driver.name === 'Data API')
    it('stands for exactly the calls the Data API adapter makes (once each statement shape is described)', async () => {
      const adapterCalls: string[] = [];
      const { sql, log } = make((call) => adapterCalls.push(call));
      const work = async () => {
        await sql`select ${1}::int as one`;
        await sql.begin(async (tx) => {
          await tx`select ${2}::int as two`;
          await tx`select ${'b'}::text as b`;
        });
        await sql
          .begin(async (tx) => {
            await tx`select ${3}::int as three`;
            throw new Error('rolled back');
          })
          .catch(() => undefined);
      };
      await work(); // the adapter describes each new statement shape once per container (extra calls, not modelled)
      adapterCalls.length = 0;
      log.length = 0;
      await work();
      expect(log.filter((entry) => !entry.startsWith('wait'))).toEqual(adapterCalls);
      expect(adapterCalls).toHaveLength(8); // S; B S S C; B S R
    });
});
