/**
 * What each deployed function weighs and how long its code takes to load:
 * `serverless package --stage ci` in a temp copy of the project (no AWS
 * account, fake credentials, as tests/deploy/package.test.ts does), then each
 * zip's size, and the time a fresh Node process takes to require() its bundle
 * (the module-load part of a Lambda cold start).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { copyProjectForPackaging, linkNodeModules, packagingEnv, SERVERLESS_CLI } from '../../dev/infra/packaging';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
/** Top-level entries a package run never needs (as tests/deploy/package.test.ts). */
export const MAX_ZIP_BYTES = 1024 * 1024;

export interface PackagedBundles {
  dir: string;
  durationMs: number;
  zips: Array<{ fn: string; file: string; bytes: number }>;
}

export interface Packaging {
  /** Resolves once `serverless package` is done. */
  done: Promise<PackagedBundles>;
  /** Stops the package run if still going and removes the temp dir. */
  dispose(): void;
  /** Suspends the package run (SIGSTOP to its process group) / lets it go on; no-ops once it ended. */
  pause(): void;
  resume(): void;
}

/** Starts `serverless package --stage ci` in the background; `snapshot` packages a clean export of HEAD instead of this working tree. */
export function startPackaging(options: { snapshot: boolean }): Packaging {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pos-bench-bundles-'));
  let child: ChildProcess | undefined;
  const signal = (name: NodeJS.Signals) => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, name);
      } catch {
        // already gone
      }
    }
  };
  const kill = () => signal('SIGKILL');
  process.once('exit', kill);
  const dispose = () => {
    kill();
    process.off('exit', kill);
    rmSync(dir, { recursive: true, force: true });
  };
  const done = (async (): Promise<PackagedBundles> => {
    const started = Date.now();
    const project = path.join(dir, 'project');
    mkdirSync(project);
    if (options.snapshot) {
      execFileSync('tar', ['-x', '-C', project], {
        input: execFileSync('git', ['archive', '--format=tar', 'HEAD'], { cwd: PROJECT_ROOT, maxBuffer: 512 * 1024 * 1024 }),
      });
      linkNodeModules(project);
    } else {
      copyProjectForPackaging(project);
    }
    const out = path.join(dir, 'out');
    mkdirSync(path.join(dir, 'home'));
    let output = '';
    const code = await new Promise<number | null>((resolve, reject) => {
      child = spawn(process.execPath, [SERVERLESS_CLI, 'package', '--stage', 'ci', '--package', out], {
        cwd: project,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: packagingEnv(path.join(dir, 'home')),
      });
      const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`serverless package --stage ci exited with ${code}:\n${output}`);
    const zips = readdirSync(out)
      .filter((file) => file.endsWith('.zip'))
      .sort()
      .map((file) => ({ fn: file.replace(/\.zip$/, ''), file: path.join(out, file), bytes: statSync(path.join(out, file)).size }));
    return { dir, durationMs: Date.now() - started, zips };
  })();
  done.catch(() => undefined); // awaited later; never an unhandled rejection meanwhile
  return { done, dispose, pause: () => signal('SIGSTOP'), resume: () => signal('SIGCONT') };
}

/** The files of a zip (stored or deflated entries; what serverless writes). */
export function readZip(file: string): Array<{ name: string; data: Buffer }> {
  const zip = readFileSync(file);
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error(`${file}: not a zip`);
  const count = zip.readUInt16LE(end + 10);
  const entries: Array<{ name: string; data: Buffer }> = [];
  for (let at = zip.readUInt32LE(end + 16), i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const [nameLength, extraLength, commentLength] = [zip.readUInt16LE(at + 28), zip.readUInt16LE(at + 30), zip.readUInt16LE(at + 32)];
    const localHeader = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const raw = zip.subarray(dataStart, dataStart + compressedSize);
    if (!name.endsWith('/')) {
      if (method !== 0 && method !== 8) throw new Error(`${file}: ${name} uses compression method ${method}`);
      entries.push({ name, data: method === 8 ? inflateRawSync(raw) : Buffer.from(raw) });
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

export interface ColdStart {
  fn: string;
  /** The fastest of the runs' require() of the bundle in a fresh process (ms): the one least disturbed by other load. */
  loadMs: number;
  runsMs: number[];
  /** The fastest run's wall time of the whole child process, Node's own start included (ms). */
  processMs: number;
}

/** What a deployed handler of stage ci sees at load: the Data API driver, the gateway's authorizer, a sealing key. */
function lambdaLikeEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    SERVICE_STAGE: 'ci',
    AWS_REGION: 'eu-west-1',
    DATA_API_CLUSTER_ARN: 'arn:aws:rds:eu-west-1:123456789012:cluster:pos-basket-service-ci',
    DATA_API_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pos-basket-service-ci',
    DATA_API_DATABASE: 'pos',
    UPSTREAM_BASE_URL: 'https://pos.example.com',
    AUTH_TRUST_API_GATEWAY: 'true',
    TOKEN_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    // The Lambda runtime provides the AWS SDK (left out of the bundles): let a bundle that loads it find ours.
    NODE_PATH: path.join(PROJECT_ROOT, 'node_modules'),
  };
}

const LOADER = `
const started = performance.now();
const mod = require(process.argv[1]);
const loadMs = performance.now() - started;
if (typeof mod.handler !== 'function') { console.error('no handler export'); process.exit(3); }
process.stdout.write(JSON.stringify({ loadMs }));
process.exit(0);
`;

/** Unzips each bundle and times loading its handler file in `runs` fresh Node processes, one at a time. */
export async function measureColdStarts(bundles: PackagedBundles, runs: number): Promise<ColdStart[]> {
  const env = lambdaLikeEnv();
  const results: ColdStart[] = [];
  for (const zip of bundles.zips) {
    const root = path.join(bundles.dir, 'unzipped', zip.fn);
    const files = readZip(zip.file);
    for (const entry of files) {
      mkdirSync(path.dirname(path.join(root, entry.name)), { recursive: true });
      writeFileSync(path.join(root, entry.name), entry.data);
    }
    const handlerFile = files.find((entry) => entry.name.endsWith('.js'));
    if (!handlerFile) throw new Error(`${zip.fn}.zip holds no .js file`);
    const loads: number[] = [];
    const walls: number[] = [];
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          ['-e', LOADER, path.join(root, handlerFile.name)],
          { cwd: root, env, timeout: 60_000 },
          (error, out, err) => (error ? reject(new Error(`loading ${zip.fn}: ${error.message}\n${err.slice(-2000)}`)) : resolve(out)),
        ),
      );
      walls.push(performance.now() - started);
      loads.push((JSON.parse(stdout) as { loadMs: number }).loadMs);
    }
    results.push({
      fn: zip.fn,
      loadMs: Math.round(Math.min(...loads)),
      runsMs: loads.map(Math.round),
      processMs: Math.round(Math.min(...walls)),
    });
  }
  return results;
}
