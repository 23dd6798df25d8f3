import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { migrate } from '../../lib/db/migrate';
import { PROJECT_ROOT } from '../../dev/infra/database';
import { drivers, ownDatabase } from '../support/drivers';

describe.each(drivers)('migration runner against a real Postgres ($name)', (driver) => {
  /** admin: postgres.js, for resetting and inspecting the database around the driver under test. */
  const { name, admin, connect } = ownDatabase(driver, 'migrate_test');
  const sql = connect();
  const second = connect();
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
    await admin`drop table if exists schema_migrations, widgets, gadgets, order_resolutions, idempotency_keys, refund_attempts, payment_attempts, orders, basket_lines, baskets`;
    await admin`drop function if exists widget_count()`;
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('applies pending migrations in order and records them', async () => {
    await writeFile(path.join(dir, '002_gadgets.sql'), 'create table gadgets (widget_id int references widgets(id));');
    await writeFile(path.join(dir, '001_widgets.sql'), 'create table widgets (id int primary key);');

    const applied = await migrate(sql, dir);

    expect(applied).toEqual(['001_widgets.sql', '002_gadgets.sql']);
    const rows = await admin`select version, name from schema_migrations order by version`;
    expect(rows.map((r) => r.name)).toEqual(['001_widgets.sql', '002_gadgets.sql']);
  });

  it('applies the project’s own migrations', async () => {
    const applied = await migrate(sql);

    expect(applied).toEqual([
      '001_baskets.sql',
      '002_orders.sql',
      '003_idempotency_keys.sql',
      '004_real_upstream.sql',
      '005_operations.sql',
      '006_concurrent_actors.sql',
      '007_app_role.sql',
      '008_fewer_round_trips.sql',
    ]);
    const indexes = await admin`select indexname from pg_indexes where tablename = 'orders' order by indexname`;
    expect(indexes.map((r) => r.indexname)).toEqual([
      'orders_duplicate_check_idx',
      'orders_one_live_per_basket_idx',
      'orders_owner_idx',
      'orders_pkey',
      'orders_unknown_idx',
      'orders_unsettled_idx',
    ]);
  });

  it('runs every statement of a file: comments, semicolons in quotes and a function body do not split it wrongly', async () => {
    await writeFile(
      path.join(dir, '001_widgets.sql'),
      [
        '-- widgets; the first table',
        "create table widgets (id int primary key, note text not null default 'a;b', label text default E'it\\'s; fine');",
        '/* a block; comment /* nested; */ still comment */',
        'create function widget_count() returns bigint language sql as $body$ select count(*) from widgets; $body$;',
        'insert into widgets (id) values (1);',
        'insert into widgets (id, note) values (2, $$x;y$$)',
      ].join('\n'),
    );

    await migrate(sql, dir);

    expect(await admin`select id, note, label from widgets order by id`).toEqual([
      { id: 1, note: 'a;b', label: "it's; fine" },
      { id: 2, note: 'x;y', label: "it's; fine" },
    ]);
    expect((await admin`select widget_count() as n`)[0].n).toBe(2);
  });

  it('runs as `npm run migrate` with this driver’s settings, and says so when there is nothing to do', async () => {
    const run = () =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'dev/migrate.ts'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, DATABASE_URL: '', ...driver.env(name) },
      });

    expect((await run()).stdout).toMatch(
      /^Applied 001_baskets.sql, 002_orders.sql, 003_idempotency_keys.sql, 004_real_upstream.sql, 005_operations.sql, 006_concurrent_actors.sql, 007_app_role.sql, 008_fewer_round_trips.sql to /,
    );
    expect((await run()).stdout).toMatch(/is up to date/);
    expect((await admin`select count(*)::int as n from schema_migrations`)[0].n).toBe(8);
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
    expect((await admin`select count(*)::int as n from schema_migrations`)[0].n).toBe(1);
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

    const tables =
      await admin`select table_name from information_schema.tables where table_name in ('widgets', 'gadgets', 'schema_migrations')`;
    expect(tables).toHaveLength(0);
  });
});
