import postgres from 'postgres';
import { startEmbeddedPostgres, type DatabaseHandle } from '../../dev/infra/database';
import { migrate } from '../../lib/db/migrate';
import { connect } from '../../lib/db/sql';

/**
 * The test run's Postgres, shared by the global setups of the tiers that need
 * one (tests/support/integration-setup.ts, global-setup.ts): DATABASE_URL's
 * server, or an embedded one started once for the run; and a template
 * database migrated once, from which the tiers make their databases (CREATE
 * DATABASE … TEMPLATE): one per integration test file, one per e2e worker (its
 * stack's). So test files running at the same time never see each other's
 * rows, and the e2e files of one worker run one after another on its
 * database as the whole suite once did on one.
 *
 * Everything here runs in the jest parent process (global setup and teardown
 * run there). The last tier to release the server drops every database of the
 * run and stops the embedded server; releaseEverything() is the way out when a
 * setup or a teardown fails and the others may not run.
 */
interface TestServer {
  /** The server's maintenance URL (database `postgres`, or DATABASE_URL's). */
  url: string;
  embedded?: DatabaseHandle;
  /** Names of this run's databases start with it: pos_test_<pid>_<time>. */
  prefix: string;
  template: string;
  /** The tiers using the server; the last one out stops it. */
  tiers: Set<string>;
}

declare global {
  var __POS_TEST_SERVER__: Promise<TestServer> | undefined;
}

function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(serverUrl: string, work: (admin: postgres.Sql) => Promise<T>): Promise<T> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined });
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

async function startServer(): Promise<TestServer> {
  let embedded: DatabaseHandle | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres({ name: `test-postgres-${process.pid}`, persistent: false });
    url = embedded.url;
  }
  const prefix = `pos_test_${process.pid}_${Date.now()}`;
  const template = `${prefix}_template`;
  try {
    await withAdmin(url, (admin) => admin.unsafe(`create database "${template}"`));
    const sql = connect(databaseUrl(url, template), { max: 1 });
    try {
      await migrate(sql);
    } finally {
      await sql.end();
    }
  } catch (error) {
    await withAdmin(url, (admin) => admin.unsafe(`drop database if exists "${template}" with (force)`)).catch(() => undefined);
    await embedded?.stop();
    throw error;
  }
  return { url, embedded, prefix, template, tiers: new Set() };
}

async function server(): Promise<TestServer> {
  globalThis.__POS_TEST_SERVER__ ??= startServer();
  return globalThis.__POS_TEST_SERVER__.catch((error) => {
    globalThis.__POS_TEST_SERVER__ = undefined;
    throw error;
  });
}

/** Every database of the run starts with the run's prefix; a tier's with `<prefix>_<tier>_`. */
const tierPrefix = (run: TestServer, tier: string) => `${run.prefix}_${tier}_`;

/**
 * `count` migrated databases for `tier` (worker 1's first), made from the
 * run's template; the server is started on first use. Returns their URLs.
 */
export async function tierDatabases(tier: string, count: number): Promise<string[]> {
  const run = await server();
  run.tiers.add(tier);
  const names = Array.from({ length: count }, (_, index) => `${tierPrefix(run, tier)}w${index + 1}`);
  await withAdmin(run.url, async (admin) => {
    for (const name of names) await admin.unsafe(`create database "${name}" template "${run.template}"`);
  });
  return names.map((name) => databaseUrl(run.url, name));
}

/**
 * For a tier whose test files make databases of their own as they go
 * (tests/support/integration-environment.ts): the server, the migrated
 * template, and the prefix their names must start with (so the tier's release
 * drops whatever a crashed worker left). The server is started on first use.
 */
export async function tierTemplate(tier: string): Promise<{ serverUrl: string; template: string; prefix: string }> {
  const run = await server();
  run.tiers.add(tier);
  return { serverUrl: run.url, template: run.template, prefix: tierPrefix(run, tier) };
}

/** Drops the databases whose names start with `prefix`. */
async function dropStartingWith(serverUrl: string, prefix: string): Promise<void> {
  await withAdmin(serverUrl, async (admin) => {
    const rows = await admin<{ name: string }[]>`select datname as name from pg_database where starts_with(datname, ${prefix})`;
    for (const { name } of rows) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  });
}

/** Drops `tier`'s databases; the last tier out drops the template and stops an embedded server. */
export async function releaseTierDatabases(tier: string): Promise<void> {
  const run = await globalThis.__POS_TEST_SERVER__?.catch(() => undefined);
  if (!run) return;
  run.tiers.delete(tier);
  await dropStartingWith(run.url, tierPrefix(run, tier));
  if (run.tiers.size === 0) await releaseEverything();
}

/** Drops every database of the run (the template too) and stops the embedded server, whatever tier still holds them. */
export async function releaseEverything(): Promise<void> {
  const pending = globalThis.__POS_TEST_SERVER__;
  globalThis.__POS_TEST_SERVER__ = undefined;
  const run = await pending?.catch(() => undefined);
  if (!run) return;
  try {
    run.tiers.clear();
    await dropStartingWith(run.url, `${run.prefix}_`);
  } finally {
    await run.embedded?.stop();
  }
}
