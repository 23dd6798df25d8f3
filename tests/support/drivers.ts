import { LOCAL_DATA_API } from '../../dev/infra/data-api-emulator';
import { createDatabase, dropDatabase } from '../../dev/infra/database';
import { migrate } from '../../lib/db/migrate';
import { connectDataApi, type DataApiOptions } from '../../lib/db/data-api';
import { connect, type PostgresSql, type Sql } from '../../lib/db/sql';

/**
 * The two database drivers the repository, idempotency and migration suites
 * run against: postgres.js on the test database (the worker's own, made by
 * the integration tier's global setup, tests/support/integration-setup.ts),
 * and the RDS Data API adapter through the local emulator that setup starts
 * over the same server (TEST_DATA_API_ENDPOINT).
 */
export interface TestDriver {
  name: 'postgres.js' | 'Data API';
  /** A client of this driver on the test database, or on `database` of the same server. */
  connect(options?: { database?: string; max?: number; onCall?: DataApiOptions['onCall'] }): Sql;
  /** The environment that points the service (or `npm run migrate`) at `database` through this driver. */
  env(database: string): Record<string, string>;
}

export const drivers: TestDriver[] = [
  {
    name: 'postgres.js',
    connect: ({ database, max } = {}) => connect(databaseUrl(database), { max }),
    env: (database) => ({ DATABASE_URL: databaseUrl(database) }),
  },
  {
    name: 'Data API',
    connect: ({ database, onCall } = {}) =>
      connectDataApi({
        ...LOCAL_DATA_API,
        endpoint: dataApiEndpoint(),
        database: database ?? new URL(databaseUrl()).pathname.slice(1),
        onCall,
      }),
    env: (database) => ({
      DATA_API_CLUSTER_ARN: LOCAL_DATA_API.resourceArn,
      DATA_API_SECRET_ARN: LOCAL_DATA_API.secretArn,
      DATA_API_DATABASE: database,
      DATA_API_ENDPOINT: dataApiEndpoint(),
      AWS_REGION: LOCAL_DATA_API.region,
      AWS_ACCESS_KEY_ID: LOCAL_DATA_API.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_DATA_API.credentials.secretAccessKey,
    }),
  },
];

/**
 * For one describe block: a client of the driver under test, and postgres.js
 * beside it (`admin`) for arranging and inspecting rows. Both connect on first
 * use and are closed after the block's tests, once `beforeClose` has run.
 */
export function suiteClients(
  driver: TestDriver,
  options: { max: number; beforeClose?: (admin: PostgresSql) => Promise<unknown> },
): { sql: Sql; admin: PostgresSql } {
  const clients = { sql: driver.connect({ max: options.max }), admin: adminDb() };
  afterAll(async () => {
    await options.beforeClose?.(clients.admin);
    await Promise.all([clients.sql.end(), clients.admin.end()]);
  });
  return clients;
}

/**
 * For one describe block: a database of its own on the test server (created
 * before its tests, dropped after them), postgres.js on it (`admin`), and
 * clients of the driver under test on it (`connect()`), closed with it.
 */
export function ownDatabase(
  driver: TestDriver,
  prefix: string,
  options: { migrated?: boolean } = {},
): { name: string; admin: PostgresSql; connect(): Sql } {
  const name = `${prefix}_${process.pid}_${driver.name === 'postgres.js' ? 'pg' : 'data_api'}`;
  const admin = connect(databaseUrl(name), { max: 2 });
  const clients: Sql[] = [];
  beforeAll(async () => {
    await createDatabase(databaseUrl(), name);
    if (options.migrated) await migrate(admin);
  });
  afterAll(async () => {
    await Promise.all([...clients, admin].map((client) => client.end()));
    await dropDatabase(databaseUrl(), name);
  });
  return {
    name,
    admin,
    connect: () => {
      const client = driver.connect({ database: name, max: 2 });
      clients.push(client);
      return client;
    },
  };
}

/** postgres.js on the test database, for arranging and inspecting rows around the driver under test. */
export function adminDb(max = 4): PostgresSql {
  return connect(databaseUrl(), { max });
}

function databaseUrl(database?: string): string {
  const url = new URL(process.env.DATABASE_URL!);
  if (database) url.pathname = `/${database}`;
  return url.toString();
}

function dataApiEndpoint(): string {
  const endpoint = process.env.TEST_DATA_API_ENDPOINT;
  if (!endpoint)
    throw new Error(
      "TEST_DATA_API_ENDPOINT is not set: the Data API emulator is started by the integration tier's global setup (npm run test:integration)",
    );
  return endpoint;
}
