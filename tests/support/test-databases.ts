import postgres from 'postgres';
import { startEmbeddedPostgres, type DatabaseHandle } from '../../dev/infra/database';
import { migrate } from '../../lib/db/migrate';
import { connect } from '../../lib/db/sql';

/**
 * The test run's Postgres, shared by the global setups of the tiers that need
 * one (tests/support/integration-setup.ts, global-setup.ts): DATABASE_URL's
 * server, or an embedded one started once for the run; a template database
 * migrated once; and, per tier, one database per jest worker made from the
 * template (CREATE DATABASE … TEMPLATE), so test files running at the same time
 * on different workers never see each other's rows, and the files of one worker
 * run one after another on its database as the whole suite once did on one.
 *
 * Everything lives in the jest parent process (global setup and teardown run
 * there). The last tier to release it drops the template and stops the
 * embedded server; releaseEverything() is the way out when a setup or a
 * teardown fails and the others may not run.
 */
interface TestServer {
  /** The server's maintenance URL (database `postgres`, or DATABASE_URL's). */
  url: string;
  embedded?: DatabaseHandle;
  /** Names of this run's databases start with it: pos_test_<pid>_<time>. */
  prefix: string;
  template: string;
  /** Databases made per tier, dropped when the tier releases them. */
  tiers: Map<string, string[]>;
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
  return { url, embedded, prefix, template, tiers: new Map() };
}

/**
 * `count` migrated databases for `tier` (worker 1's first), made from the
 * run's template; the server is started on first use. Returns their URLs.
 */
export async function tierDatabases(tier: string, count: number): Promise<string[]> {
  globalThis.__POS_TEST_SERVER__ ??= startServer();
  const server = await globalThis.__POS_TEST_SERVER__.catch((error) => {
    globalThis.__POS_TEST_SERVER__ = undefined;
    throw error;
  });
  const names = Array.from({ length: count }, (_, index) => `${server.prefix}_${tier}_w${index + 1}`);
  server.tiers.set(tier, names);
  // One at a time: CREATE DATABASE refuses a template another CREATE is copying.
  await withAdmin(server.url, async (admin) => {
    for (const name of names) await admin.unsafe(`create database "${name}" template "${server.template}"`);
  });
  return names.map((name) => databaseUrl(server.url, name));
}

/** The server's URL (for tools that name their own database on it, e.g. the Data API emulator). */
export async function testServerUrl(): Promise<string> {
  if (!globalThis.__POS_TEST_SERVER__) throw new Error('no test server: call tierDatabases first');
  return (await globalThis.__POS_TEST_SERVER__).url;
}

/** Drops `tier`'s databases; the last tier out drops the template and stops an embedded server. */
export async function releaseTierDatabases(tier: string): Promise<void> {
  const server = await globalThis.__POS_TEST_SERVER__?.catch(() => undefined);
  if (!server) return;
  const names = server.tiers.get(tier) ?? [];
  server.tiers.delete(tier);
  await withAdmin(server.url, async (admin) => {
    for (const name of names) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  });
  if (server.tiers.size === 0) await releaseEverything();
}

/** Drops every database of the run and stops the embedded server, whatever tier still holds them. */
export async function releaseEverything(): Promise<void> {
  const pending = globalThis.__POS_TEST_SERVER__;
  globalThis.__POS_TEST_SERVER__ = undefined;
  const server = await pending?.catch(() => undefined);
  if (!server) return;
  try {
    const names = [...[...server.tiers.values()].flat(), server.template];
    server.tiers.clear();
    await withAdmin(server.url, async (admin) => {
      for (const name of names) await admin.unsafe(`drop database if exists "${name}" with (force)`);
    });
  } finally {
    await server.embedded?.stop();
  }
}
