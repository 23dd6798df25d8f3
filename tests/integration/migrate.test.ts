import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../../lib/db/migrate';
import { connect, type Sql } from '../../lib/db/sql';
import { createDatabase, dropDatabase } from '../../dev/infra/database';

describe('migration runner against a real Postgres', () => {
  const serverUrl = process.env.DATABASE_URL!;
  const name = `migrate_test_${process.pid}`;
  let sql: Sql;
  let second: Sql;
  let dir: string;

  beforeAll(async () => {
    const url = await createDatabase(serverUrl, name);
    sql = connect(url, { max: 2 });
    second = connect(url, { max: 2 });
  });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
    await sql`drop table if exists schema_migrations, widgets, gadgets`;
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  afterAll(async () => {
    await sql.end();
    await second.end();
    await dropDatabase(serverUrl, name);
  });

  it('applies pending migrations in order and records them', async () => {
    await writeFile(path.join(dir, '002_gadgets.sql'), 'create table gadgets (widget_id int references widgets(id));');
    await writeFile(path.join(dir, '001_widgets.sql'), 'create table widgets (id int primary key);');

    const applied = await migrate(sql, dir);

    expect(applied).toEqual(['001_widgets.sql', '002_gadgets.sql']);
    const rows = await sql`select version, name from schema_migrations order by version`;
    expect(rows.map((r) => r.name)).toEqual(['001_widgets.sql', '002_gadgets.sql']);
  });

  it('is a no-op when run twice', async () => {
    await writeFile(path.join(dir, '001_widgets.sql'), 'create table widgets (id int primary key);');

    await migrate(sql, dir);
    const second = await migrate(sql, dir);

    expect(second).toEqual([]);
  });

  it('applies each migration once when two processes migrate at the same time', async () => {
    await writeFile(path.join(dir, '001_widgets.sql'), 'create table widgets (id int primary key); select pg_sleep(0.2);');

    const [a, b] = await Promise.all([migrate(sql, dir), migrate(second, dir)]);

    expect([...a, ...b]).toEqual(['001_widgets.sql']);
    expect((await sql`select count(*)::int as n from schema_migrations`)[0].n).toBe(1);
  });

  it('stops when an applied migration was edited afterwards', async () => {
    const file = path.join(dir, '001_widgets.sql');
    await writeFile(file, 'create table widgets (id int primary key);');
    await migrate(sql, dir);
    await writeFile(file, 'create table widgets (id bigint primary key);');

    await expect(migrate(sql, dir)).rejects.toThrow(/changed after it was applied/);
  });

  it('rolls back a failing migration entirely', async () => {
    await writeFile(path.join(dir, '001_widgets.sql'), 'create table widgets (id int primary key);');
    await writeFile(path.join(dir, '002_broken.sql'), 'create table gadgets (id int); select no_such_function();');

    await expect(migrate(sql, dir)).rejects.toThrow();

    const tables = await sql`select table_name from information_schema.tables where table_name in ('widgets', 'gadgets', 'schema_migrations')`;
    expect(tables).toHaveLength(0);
  });
});
