import { randomUUID } from 'node:crypto';
import type { Sql } from '../../lib/db/sql';
import { drivers } from '../support/drivers';

/** What the repositories rely on from `Sql`, held to the same answers on both drivers. */
describe.each(drivers)('the Sql interface ($name)', (driver) => {
  let sql: Sql;

  beforeAll(() => {
    sql = driver.connect({ max: 4 });
  });
  afterAll(() => sql.end());

  it('returns the JS types postgres.js gives', async () => {
    const [row] = await sql`
      select '2024-05-01 12:34:56.789+00'::timestamptz as at, 9007199254740991::bigint as big, 42::int as small,
             '8c0f5d0e-7d7e-4c4c-9d0b-2f6f0e6b1a11'::uuid as id, 'text' as label, '{"a": [1, "b"], "c": null}'::jsonb as doc,
             true as yes, null::text as nothing, 12.50::numeric as amount, 0.25::float8 as rate`;

    expect(row).toEqual({
      at: new Date('2024-05-01T12:34:56.789Z'),
      big: 9007199254740991,
      small: 42,
      id: '8c0f5d0e-7d7e-4c4c-9d0b-2f6f0e6b1a11',
      label: 'text',
      doc: { a: [1, 'b'], c: null },
      yes: true,
      nothing: null,
      amount: '12.50',
      rate: 0.25,
    });
  });

  it('sends each value as a parameter of the type its place asks for', async () => {
    const uuid = randomUUID();
    const at = new Date('2024-05-01T12:34:56.789Z');
    const tricky = "it's :p1 -- not a comment; $1 \u00e6\u00f8\u00e5 \u{1F355}";

    const [row] = await sql`
      select ${uuid}::text = ${uuid} as uuid_as_text, ${uuid} = ${uuid}::uuid as uuid_as_uuid,
             ${at} as at, ${at}::timestamptz + interval '1 second' as later, ${sql.json({ headers: { a: 'b' } })} as doc,
             ${tricky} as tricky, ${7} + 1 as eight, ${0.5}::float8 * 2 as one, ${true} as yes, ${null}::int as nothing,
             ${undefined}::text as undefined_is_null, ${'5'}::int + 1 as six`;

    expect(row).toEqual({
      uuid_as_text: true,
      uuid_as_uuid: true,
      at,
      later: new Date('2024-05-01T12:34:57.789Z'),
      doc: { headers: { a: 'b' } },
      tricky,
      eight: 8,
      one: 1,
      yes: true,
      nothing: null,
      undefined_is_null: null,
      six: 6,
    });
  });

  it('nests fragments with their own parameters, raw fragments and IN lists', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const condition = (id: string) => sql`u.id = ${id}::uuid`;

    const rows = await sql`
      select ${sql.unsafe('u.id::text as id')} from unnest(${sql.unsafe(`array['${ids.join("','")}']::uuid[]`)}) as u(id)
      where u.id in ${sql(ids.slice(0, 2))} or ${condition(ids[2])}
      order by 1`;
    const none = await sql`select 1 as one where 'x' in ${sql([])}`;

    expect(rows.map((r) => r.id)).toEqual([...ids].sort());
    expect(rows.count).toBe(3);
    expect(none).toEqual([]);
  });

  it('counts the rows a statement changed', async () => {
    const table = `drivers_${driver.name === 'postgres.js' ? 'pg' : 'data_api'}_${process.pid}`;
    await sql.unsafe(`create table ${table} (id int primary key); insert into ${table} values (1), (2), (3)`);
    try {
      expect((await sql`update ${sql.unsafe(table)} set id = id + 10 where id > ${1}`).count).toBe(2);
      expect((await sql`delete from ${sql.unsafe(table)} where id > ${10}`).count).toBe(2);
      expect((await sql`insert into ${sql.unsafe(table)} values (${4}), (${5})`).count).toBe(2);
    } finally {
      await sql.unsafe(`drop table ${table}`);
    }
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    const key = `drivers-${randomUUID()}`;
    const insert = (
      tx: Sql,
    ) => tx`insert into idempotency_keys (owner_id, idempotency_key, route, request_hash, status, locked_until, expires_at)
      values (${key}, ${key}, 'r', ${'a'.repeat(64)}, 'in_progress', now() + interval '1 minute', now() + interval '1 hour')`;
    const count = async () => (await sql<{ n: number }[]>`select count(*)::int as n from idempotency_keys where owner_id = ${key}`)[0].n;

    await expect(sql.begin(async (tx) => (await insert(tx), Promise.reject(new Error('changed my mind'))))).rejects.toThrow(
      'changed my mind',
    );
    expect(await count()).toBe(0);
    expect(await sql.begin(async (tx) => (await insert(tx), 'done'))).toBe('done');
    expect(await count()).toBe(1);
    await sql`delete from idempotency_keys where owner_id = ${key}`;
  });
});
