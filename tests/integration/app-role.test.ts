import { randomBytes } from 'node:crypto';
import { ensureAppUser } from '../../lib/db/app-user';
import { connect } from '../../lib/db/sql';

/**
 * Migration 007's pos_app role and the login user `npm run migrate --
 * --app-user-secret` makes: the service's user reads and writes rows, and
 * can change nothing else (no DDL, no migrations' bookkeeping).
 */
describe('the database user the service runs as', () => {
  const admin = connect(process.env.DATABASE_URL!, { max: 1 });
  const username = `pos_app_test_${process.pid}_${randomBytes(3).toString('hex')}`;
  const password = randomBytes(24).toString('base64url');
  let asApp: ReturnType<typeof connect>;

  beforeAll(async () => {
    expect(await ensureAppUser(admin, { username, password })).toBe('created');
    expect(await ensureAppUser(admin, { username, password })).toBe('updated');
    const url = new URL(process.env.DATABASE_URL!);
    url.username = username;
    url.password = password;
    asApp = connect(url.toString(), { max: 1 });
  });

  afterAll(async () => {
    await asApp?.end();
    await admin.unsafe(`drop owned by ${username}`);
    await admin.unsafe(`drop role ${username}`);
    await admin.end();
  });

  it('reads and writes rows', async () => {
    const owner = `${username}@example.com`;
    await asApp`insert into baskets (id, owner_id) values (gen_random_uuid(), ${owner})`;
    const rows = await asApp<{ n: number }[]>`select count(*)::int as n from baskets where owner_id = ${owner}`;
    expect(rows[0]!.n).toBe(1);
    await asApp`delete from baskets where owner_id = ${owner}`;
  });

  it.each([
    ['create a table', 'create table app_made (id int)'],
    ['drop a table', 'drop table baskets'],
    ['alter a table', 'alter table orders add column sneaky text'],
    ['read the migrations', 'select * from schema_migrations'],
    ['create a role', 'create role sneaky'],
  ])('may not %s', async (_, statement) => {
    await expect(asApp.unsafe(statement)).rejects.toThrow(/permission denied|must be owner|must have CREATEROLE|not have permission/);
  });

  it('refuses a user name it would have to quote, and a short password', async () => {
    await expect(ensureAppUser(admin, { username: 'Robert"; drop', password })).rejects.toThrow(/must match/);
    await expect(ensureAppUser(admin, { username, password: 'short' })).rejects.toThrow(/at least 16/);
  });
});
