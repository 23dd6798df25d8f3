import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from './database';
import { freePort, preferredOrFreePort } from './ports';

/** The stage every local stack runs serverless-offline at; its handlers see it as SERVICE_STAGE (lib/config.ts). */
export const LOCAL_STAGE = 'local';

/** The deployed name of a function of serverless.yml (service-stage-function), as the invoke API wants it. */
export function lambdaName(functionKey: string, stage = LOCAL_STAGE): string {
  return `pos-basket-service-${stage}-${functionKey}`;
}

/** Invokes a function through serverless-offline's Lambda API and returns its result. */
export async function invokeLambda(lambdaUrl: string, functionKey: string, payload: unknown = {}): Promise<unknown> {
  const response = await fetch(`${lambdaUrl}/2015-03-31/functions/${lambdaName(functionKey)}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`invoking ${functionKey} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export interface OfflineHandle {
  baseUrl: string;
  /** serverless-offline's Lambda invoke API: POST {lambdaUrl}/2015-03-31/functions/{name}/invocations. */
  lambdaUrl: string;
  stop(): Promise<void>;
}

export interface OfflineOptions {
  env: Record<string, string>;
  preferredPort?: number;
  /** Where serverless-offline runs and writes its build (.esbuild/); the project itself when unset (see linkedServiceDir). */
  serviceDir?: string;
  /** Receives serverless-offline's output (the handlers' JSON logs among it). */
  onOutput?: (chunk: string) => void;
  readyTimeoutMs?: number;
  /**
   * Once it serves, end the esbuild service serverless-esbuild keeps for
   * rebuilds (some 2 GB of bundler state per instance). Only for an instance
   * that never rebuilds (ESBUILD_WATCH_PATTERN matching nothing, as the test
   * stacks set it); a rebuild would fail. Where there is no /proc, it stays.
   */
  endBundlerWhenReady?: boolean;
}

export interface LaunchedOffline extends OfflineHandle {
  /** Resolves once /health answers; rejects, having stopped the process, when it exits or does not answer in time. */
  ready: Promise<void>;
}

/**
 * Spawns `serverless offline` on the given ports in its own process group (so
 * that stopping it also ends esbuild and anything else it spawned) and returns
 * at once; `ready` tells when it serves. stop() ends it whether it is up yet or not.
 */
export function launchOffline(options: OfflineOptions & { httpPort: number; lambdaPort: number }): LaunchedOffline {
  const { httpPort, lambdaPort } = options;
  const lambdaUrl = `http://127.0.0.1:${lambdaPort}`;
  const cli = path.join(PROJECT_ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
  const child = spawn(
    process.execPath,
    [
      cli,
      'offline',
      'start',
      '--stage',
      LOCAL_STAGE,
      '--httpPort',
      String(httpPort),
      '--lambdaPort',
      String(lambdaPort),
      '--host',
      '127.0.0.1',
    ],
    {
      cwd: options.serviceDir ?? PROJECT_ROOT,
      // AWS_LAMBDA_INITIALIZATION_TYPE: what Lambda sets for on-demand containers (serverless-offline hands every AWS_*
      // variable to the handlers); Powertools reports cold starts (log key cold_start, metric ColdStart) only with it.
      env: {
        ...process.env,
        // A paid checkout hands its completion to completeOrder through this instance's own Lambda API (serverless.yml).
        COMPLETION_INVOKE_ENDPOINT: lambdaUrl,
        ...options.env,
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        SLS_DEPRECATION_DISABLE: '*',
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-20_000);
    options.onOutput?.(text);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const stop = () => stopProcessGroup(child);
  const ready = waitUntilHealthy(`${baseUrl}/health`, child, options.readyTimeoutMs ?? 90_000).then(
    () => {
      if (options.endBundlerWhenReady && child.pid !== undefined) endBundler(child.pid);
    },
    async (error) => {
      await stop();
      throw new Error(`serverless offline did not start: ${(error as Error).message}\n${output}`);
    },
  );
  ready.catch(() => undefined); // whoever awaits `ready` sees the failure; nobody awaiting it is no crash
  return { baseUrl, lambdaUrl, stop, ready };
}

/** Ends the esbuild processes of a process group (serverless offline runs in a group of its own), read from /proc. */
function endBundler(group: number): void {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return; // no /proc: the bundler stays until the instance stops
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const processGroup = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (command === 'esbuild' && processGroup === group) process.kill(Number(pid), 'SIGTERM');
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
}

/** Starts `serverless offline` (launchOffline) on free ports and resolves once /health answers. */
export async function startOffline(options: OfflineOptions): Promise<OfflineHandle> {
  const httpPort = options.preferredPort ? await preferredOrFreePort(options.preferredPort) : await freePort();
  const lambdaPort = await freePort();
  const launched = launchOffline({ ...options, httpPort, lambdaPort });
  await launched.ready;
  return launched;
}

/** Top-level entries of the project a linked service folder does not share: build output, serverless state, local data. */
const NOT_LINKED = new Set(['.esbuild', '.serverless', '.data', '.git', 'coverage']);

/**
 * A temp folder with the project's top-level folders linked and its top-level
 * files copied (serverless only takes a serverless.yml that is a file, not a
 * link), but its own .esbuild/ and .serverless/: serverless-offline run there
 * bundles the same code into a build folder of its own, so several instances
 * can start side by side (and beside another run in the same checkout)
 * without rewriting each other's bundles. `bundles` is where they land.
 *
 * With `servesBundlesOf` (another such folder's `bundles`), its serverless.yml
 * is the project's without the serverless-esbuild plugin and with
 * serverless-offline's `location` at those bundles: an instance started there
 * serves the very files the other one bundled instead of bundling them again
 * (in `offline start`, serverless-esbuild only bundles and sets that location).
 * The other folder must stay until this instance stops.
 *
 * remove() deletes the folder, never what the links point at.
 */
export function linkedServiceDir(options: { servesBundlesOf?: string } = {}): { dir: string; bundles: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pos-basket-offline-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  for (const entry of readdirSync(PROJECT_ROOT, { withFileTypes: true })) {
    if (NOT_LINKED.has(entry.name)) continue;
    const [from, to] = [path.join(PROJECT_ROOT, entry.name), path.join(dir, entry.name)];
    if (entry.isFile()) copyFileSync(from, to);
    else symlinkSync(from, to);
  }
  if (options.servesBundlesOf) {
    const config = path.join(dir, 'serverless.yml');
    try {
      writeFileSync(config, servingBundles(readFileSync(config, 'utf8'), options.servesBundlesOf));
    } catch (error) {
      remove();
      throw error;
    }
  }
  return { dir, bundles: path.join(dir, '.esbuild', '.build'), remove };
}

/** serverless.yml without the serverless-esbuild plugin, and serverless-offline's location at `bundles`. */
function servingBundles(config: string, bundles: string): string {
  const plugin = /^[ \t]*-[ \t]*serverless-esbuild[ \t]*\r?\n/gm;
  const offline = /^( +)serverless-offline:[ \t]*\r?\n( +)/gm;
  if ((config.match(plugin) ?? []).length !== 1 || (config.match(offline) ?? []).length !== 1) {
    throw new Error(
      'serverless.yml no longer has one `- serverless-esbuild` plugin line and one custom `serverless-offline:` block: cannot serve bundles from elsewhere',
    );
  }
  return config
    .replace(plugin, '')
    .replace(offline, (block, _indent: string, inner: string) => `${block}location: ${JSON.stringify(bundles)}\n${inner}`);
}

async function waitUntilHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (Date.now() < giveUpAt) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited with ${child.exitCode ?? child.signalCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no healthy answer from ${url} within ${timeoutMs} ms`);
}

export async function stopProcessGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  signalGroup('SIGTERM');
  const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  signalGroup('SIGKILL');
}
