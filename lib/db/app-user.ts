import type { Sql } from './sql';

/** The Postgres names our login users may have (no quoting surprises). */
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface AppUser {
  username: string;
  password: string;
}

/**
 * Makes (or refreshes) the login user the service connects as: a member of
 * pos_app (migration 007: rows only, no DDL) with the given password. Run by
 * `npm run migrate -- --app-user-secret <arn>` as the database owner.
 * Statements are built by Postgres' own format() (%I, %L), not by us.
 */
export async function ensureAppUser(sql: Sql, user: AppUser): Promise<'created' | 'updated'> {
  if (!ROLE_NAME.test(user.username)) throw new Error(`app user name must match ${ROLE_NAME}, got "${user.username}"`);
  if (user.password.length < 16) throw new Error('app user password must be at least 16 characters');
  const [role] = await sql<{ exists: boolean }[]>`select exists (select 1 from pg_roles where rolname = 'pos_app') as exists`;
  if (!role?.exists) throw new Error('role pos_app does not exist: run the migrations as a user that may create roles first');
  const [existing] = await sql<{ exists: boolean }[]>`select exists (select 1 from pg_roles where rolname = ${user.username}) as exists`;
  const template = existing?.exists ? 'alter role %I with login password %L' : 'create role %I login password %L';
  const [built] = await sql<
    { statement: string }[]
  >`select format(${template}, ${user.username}::text, ${user.password}::text) as statement`;
  await sql.unsafe(built!.statement);
  const [grant] = await sql<{ statement: string }[]>`select format('grant pos_app to %I', ${user.username}::text) as statement`;
  await sql.unsafe(grant!.statement);
  return existing?.exists ? 'updated' : 'created';
}
