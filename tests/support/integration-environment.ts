import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import NodeEnvironment from 'jest-environment-node';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { tierSettings } from './tier-settings';

/**
 * The integration tier's test environment: Node's, plus a migrated database of
 * the test file's own, made from the run's template before the file loads
 * (DATABASE_URL) and dropped after its last hook. Integration files read and
 * reconcile the orders table as a whole (a reconciler claims the oldest due
 * orders first), so none may see another file's rows, whatever runs before it
 * on the same worker. Making one from the template takes some 50 ms.
 */
export default class IntegrationEnvironment extends NodeEnvironment {
  private database: { serverUrl: string; name: string } | undefined;

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
  }

  override async setup(): Promise<void> {
    await super.setup();
    const { databases } = tierSettings('integration');
    if (!databases) throw new Error('the integration global setup handed over no template database');
    const name = `${databases.prefix}${randomBytes(6).toString('hex')}`;
    await admin(databases.serverUrl, (sql) => sql.unsafe(`create database "${name}" template "${databases.template}"`));
    this.database = { serverUrl: databases.serverUrl, name };
    const url = new URL(databases.serverUrl);
    url.pathname = `/${name}`;
    this.global.process.env.DATABASE_URL = url.toString();
  }

  override async teardown(): Promise<void> {
    try {
      const database = this.database;
      this.database = undefined;
      if (database) await admin(database.serverUrl, (sql) => sql.unsafe(`drop database if exists "${database.name}" with (force)`));
    } finally {
      await super.teardown();
    }
  }
}

async function admin(serverUrl: string, work: (sql: postgres.Sql) => Promise<unknown>): Promise<void> {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => undefined });
  try {
    await work(sql);
  } finally {
    await sql.end();
  }
}
