import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../dev/infra/database';
import { stopProcessGroup } from '../../dev/infra/offline';
import { freePort } from '../../dev/infra/ports';

/**
 * serverless-offline 13 (the line that runs with serverless 3) terminated a
 * function's worker thread when an invocation timed out and never made a new
 * one, so every later invocation of that function hung until its timeout
 * (dherault/serverless-offline#1896). patches/serverless-offline+13.10.1.patch
 * (applied by `npm install` through patch-package) carries the upstream fix
 * (#1898) to our version. A one-function service with a one-second timeout
 * (tests/fixtures/offline-timeout) is timed out, then called again.
 */

let dir: string;
let child: ChildProcess;
let baseUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'offline-timeout-'));
  cpSync(path.join(PROJECT_ROOT, 'tests/fixtures/offline-timeout'), dir, { recursive: true });
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const httpPort = await freePort();
  const lambdaPort = await freePort();
  baseUrl = `http://127.0.0.1:${httpPort}`;
  const cli = path.join(PROJECT_ROOT, 'node_modules/serverless/bin/serverless.js');
  child = spawn(
    process.execPath,
    [cli, 'offline', 'start', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort), '--host', '127.0.0.1'],
    {
      cwd: dir,
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      detached: true,
      stdio: 'ignore',
    },
  );
  for (let tries = 0; ; tries++) {
    const answer = await fetch(`${baseUrl}/sleep/0`).catch(() => undefined);
    if (answer?.status === 200) break;
    if (tries > 120) throw new Error('serverless offline did not start');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}, 60_000);

afterAll(async () => {
  if (child) await stopProcessGroup(child);
  rmSync(dir, { recursive: true, force: true });
});

async function timed(ms: number): Promise<{ status: number; body: string; tookMs: number }> {
  const started = Date.now();
  const answer = await fetch(`${baseUrl}/sleep/${ms}`, { signal: AbortSignal.timeout(10_000) });
  return { status: answer.status, body: await answer.text(), tookMs: Date.now() - started };
}

it('serves a function normally again right after one of its invocations timed out', async () => {
  const timedOut = await timed(3000);
  const next = await timed(0);
  const afterThat = await timed(0);

  expect(timedOut.body).toContain('Lambda timeout');
  expect(next).toMatchObject({ status: 200, body: JSON.stringify({ slept: 0 }) });
  expect(afterThat).toMatchObject({ status: 200, body: JSON.stringify({ slept: 0 }) });
  expect(next.tookMs).toBeLessThan(900); // a new worker, not a wait for the one-second timeout
}, 30_000);
