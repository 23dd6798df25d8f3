import { LOCAL_DATA_API } from '../../dev/infra/data-api-emulator';
import { connectDataApi, type DataApiOptions } from '../../lib/db/data-api';
import { connect, type PostgresSql, type Sql } from '../../lib/db/sql';

/**
 * The two database drivers the repository, idempotency and migration suites
 * run against: postgres.js on the test database, and the RDS Data API
 * adapter through the local emulator global setup starts over the same
 * database (TEST_DATA_API_ENDPOINT).
 */
export interface TestDriver {
  name: 'postgres.js' | 'Data API';
  /** A client of this driver on the test database, or on `database` of the same server. */
  connect(options?: { database?: string; max?: number; onCall?: DataApiOptions['onCall'] }): Sql;
}

export const drivers: TestDriver[] = [
  {
    name: 'postgres.js',
    connect: ({ database, max } = {}) => connect(databaseUrl(database), { max }),
  },
  {
    name: 'Data API',
    connect: ({ database, onCall } = {}) =>
      connectDataApi({ ...LOCAL_DATA_API, endpoint: dataApiEndpoint(), database: database ?? new URL(databaseUrl()).pathname.slice(1), onCall }),
  },
];

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
  if (!endpoint) throw new Error('TEST_DATA_API_ENDPOINT is not set: the Data API emulator is started by jest global setup');
  return endpoint;
}
