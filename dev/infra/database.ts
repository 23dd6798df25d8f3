import { chown, mkdir, rm, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { preferredOrFreePort, freePort } from './ports';
import { initialiseCluster, postgresUser, reachableByOthers, startPostgres } from './postgres-server';

export const PROJECT_ROOT = path.resolve(__dirname, '../..');
export const DATA_ROOT = path.join(PROJECT_ROOT, '.data');

export interface DatabaseHandle {
  url: string;
  /** Stops what this process started (an embedded server); a no-op for an external DATABASE_URL. */
  stop(): Promise<void>;
  embedded: boolean;
}

const EMBEDDED_USER = 'postgres';

/**
 * As root, Postgres runs as the `postgres` user, which must own the data
 * folder and be able to reach it; a project folder it cannot reach (e.g.
 * under /root) gets its data in the temp folder instead.
 */
async function chooseDataRoot(): Promise<string> {
  if (process.getuid?.() !== 0 || (await reachableByOthers(path.join(DATA_ROOT, 'x')))) return DATA_ROOT;
  return path.join(os.tmpdir(), 'pos-basket-service-data');
}

async function prepareDataRoot(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = postgresUser();
  await chown(dir, uid, gid);
}

export interface EmbeddedOptions {
  /** Folder name under .data/; reused across runs when persistent. */
  name: string;
  persistent: boolean;
  preferredPort?: number;
  log?: (line: string) => void;
}

/** A Postgres server of our own in a project data folder, from the binaries shipped on npm. */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<DatabaseHandle> {
  const root = await chooseDataRoot();
  await prepareDataRoot(root);
  const dataDir = path.join(root, options.name);
  if (!options.persistent) await rm(dataDir, { recursive: true, force: true });
  const log = options.log ?? (() => undefined);
  await initialiseCluster(dataDir, log);
  const port = options.preferredPort ? await preferredOrFreePort(options.preferredPort) : await freePort();
  const server = await startPostgres({ dataDir, port, log });
  let stopped = false;
  return {
    url: `postgres://${EMBEDDED_USER}@127.0.0.1:${port}/postgres`,
    embedded: true,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
      if (options.persistent) return;
      await rm(dataDir, { recursive: true, force: true });
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
