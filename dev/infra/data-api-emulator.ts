import { dataApiLocal } from 'data-api-local';
import { freePort } from './ports';

/**
 * A local RDS Data API (the `data-api-local` emulator) over a Postgres
 * database, so the Data API adapter runs against real SQL in tests. It
 * differs from AWS in ways the adapter does not rely on (docs/configuration.md,
 * "Database drivers", "In tests"); three differences that change answers we check are corrected
 * here: it reports changed rows only for UPDATE, where AWS also counts
 * INSERT and DELETE; it cuts timestamps to whole seconds, where AWS keeps
 * their fraction; and it runs a statement only up to its first semicolon
 * outside single or double quotes (so a `$$…;…$$` function body is cut),
 * where AWS runs the one statement it is given whole.
 */

/** Any ARNs and credentials do: the emulator checks none of them. */
export const LOCAL_DATA_API = {
  resourceArn: 'arn:aws:rds:us-east-1:000000000000:cluster:local',
  secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:local',
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

export interface DataApiEmulator {
  endpoint: string;
  stop(): Promise<void>;
}

interface EmulatedConnection {
  client: { on(event: 'error', listener: () => void): void };
  query(request: {
    query: string;
    values?: unknown[];
  }): Promise<{ command: string; rowCount: number | null; fields: { dataTypeID: number }[]; rows: unknown[][] }>;
  buildColumnMetadata(fields: unknown[]): Promise<unknown>;
  disconnect(): Promise<void>;
}

let corrected = false;
const TIMESTAMP_TYPES = [1114, 1184]; // timestamp, timestamptz
const SEMICOLON = '\u0000semicolon\u0000';

function correctEmulator(): void {
  if (corrected) return;
  corrected = true;
  /* eslint-disable @typescript-eslint/no-require-imports -- the emulator's internals have no typed entry point; loaded only when the emulator starts */
  const { PostgresClient } = require('data-api-local/lib/PostgresClient') as { PostgresClient: { prototype: Record<string, unknown> } };
  const { transformQuery } = require('data-api-local/lib/utils/transformQuery') as {
    transformQuery: (sql: string, parameters?: unknown[]) => { query: string; values?: unknown[] };
  };
  const { transformResult } = require('data-api-local/lib/utils/transformResult') as {
    transformResult: (result: unknown) => Record<string, unknown>[][];
  };
  /* eslint-enable @typescript-eslint/no-require-imports */

  // Its own executeStatement, but counting INSERT and DELETE rows and keeping milliseconds as AWS does.
  PostgresClient.prototype.executeStatement = async function executeStatement(
    this: EmulatedConnection,
    { sql, parameters, includeResultMetadata = false }: { sql: string; parameters?: unknown[]; includeResultMetadata?: boolean },
  ) {
    // It keeps the text before the first `;` it finds; the adapter sends one statement, so none of them ends one.
    const transformed = transformQuery(sql.replaceAll(';', SEMICOLON), parameters);
    const result = await this.query({ query: transformed.query.replaceAll(SEMICOLON, ';'), values: transformed.values });
    const records = transformResult(result);
    result.rows.forEach((row, r) =>
      row.forEach((value, c) => {
        if (value instanceof Date && TIMESTAMP_TYPES.includes(result.fields[c].dataTypeID))
          records[r][c] = { stringValue: value.toISOString() };
      }),
    );
    return {
      columnMetadata: includeResultMetadata ? await this.buildColumnMetadata(result.fields) : undefined,
      records,
      numberOfRecordsUpdated: ['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(result.command) ? (result.rowCount ?? 0) : 0,
    };
  };

  // A connection Postgres drops (e.g. its database dropped at the end of a run) must not crash the process.
  const connect = PostgresClient.prototype.connect as (this: EmulatedConnection) => Promise<EmulatedConnection>;
  PostgresClient.prototype.connect = async function (this: EmulatedConnection) {
    const connected = await connect.call(this);
    this.client.on('error', () => undefined);
    return connected;
  };
}

/** Starts the emulator on a free port of 127.0.0.1 for the server and user of `databaseUrl` (any database: each call names its own). */
export async function startDataApiEmulator(databaseUrl: string): Promise<DataApiEmulator> {
  correctEmulator();
  const url = new URL(databaseUrl);
  const port = await freePort(); // the emulator takes 8080 when given port 0
  // Its types name pg's client settings, whose types (@types/pg) we do not install.
  const database = {
    engine: 'postgresql',
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database: url.pathname.slice(1),
  } as Parameters<typeof dataApiLocal>[0]['database'];
  const server = await dataApiLocal({ server: { hostname: '127.0.0.1', port }, database, logger: () => undefined });
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      // Transactions nobody committed or rolled back still hold a connection each.
      const open = (server as unknown as { pool: Record<string, EmulatedConnection> }).pool;
      await Promise.allSettled(Object.values(open).map((connection) => connection.disconnect()));
      await server.stop();
    },
  };
}
