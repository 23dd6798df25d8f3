import type { Config } from '@jest/types';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, type Stack } from '../../dev/infra/stack';
import { E2E_HANDLER_ENV } from './e2e-env';
import { tierDatabases } from './test-databases';
import { handToWorkers, onRelease, releaseAll, startTestSimulator, workerSlots } from './tiers';

/** What global teardown needs of the e2e setup. */
export interface E2eRun {
  stacks: Stack[];
  /** Where each worker learns whether its stack is up (tests/support/e2e-ready.ts). */
  statusDir: string;
  /** Indexes (into `stacks`) of the stacks that are up. */
  up: Set<number>;
  /** Where tests/support/http.ts records every API answer, for the contract check in global teardown. */
  contractDir: string;
  logs: string[];
}

declare global {
  var __POS_TEST_E2E__: E2eRun | undefined;
}

/** serverless-offline's output (the handlers' JSON logs among it) of worker `n`'s stack. */
export const offlineLog = (worker: number) => path.join(os.tmpdir(), `pos-basket-e2e-${process.pid}-w${worker}.log`);

/**
 * The e2e tier (tests/e2e): the whole stack, once per jest worker, so test
 * files on different workers never share a database or a reconciler (one
 * file's reconciler run would settle another's orders mid-test): a migrated
 * database per worker, and over it serverless-offline, the same API with the
 * upstream's 503 read as ambiguous, and their gateways; one upstream simulator
 * for all (its faults and profiles are per user, and every test has its own).
 * The files of one worker run one after another on its stack, as the whole
 * suite once ran on one. Each worker gets its URLs through
 * tests/support/e2e-worker-env.ts.
 */
export default async function globalSetup(globalConfig: Config.GlobalConfig): Promise<void> {
  // The AWS SDK warns once per process that its releases from 2027 on need Node 22; the stack is on Node 20 by design.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const started = Date.now();
  const slots = workerSlots(globalConfig);
  try {
    const databases = await tierDatabases('e2e', slots);
    const { simulator, jwtSecret } = await startTestSimulator('e2e');
    const env = { ...process.env, UPSTREAM_BASE_URL: simulator.url }; // tests always run against the simulator
    // The first stack's API bundles the handlers; its variant and the other stacks serve the same bundles
    // (dev/infra/offline.ts, linkedServiceDir): bundled once, not once per serverless-offline. Stopped in reverse
    // order, so the first stack, whose folder holds the bundles, stops last.
    const stacks: Array<PromiseSettledResult<Stack>> = [];
    for (const [index, database] of databases.entries()) {
      const bundles = stacks[0]?.status === 'fulfilled' ? stacks[0].value.bundles : undefined;
      stacks.push(
        await startStack({
          purpose: 'test',
          env,
          database,
          // Each serverless-offline in a folder of its own, all starting while the other tiers' tests run: setup
          // returns once the gateways listen, and an e2e file first waits for its stack (tests/support/e2e-ready.ts).
          ownServiceDirs: true,
          apiInBackground: true,
          servesBundlesOf: bundles,
          // Bundling beside the other tiers' tests: on a busy 2-core machine that takes a while.
          apiReadyTimeoutMs: 240_000,
          // Nothing rebuilds: the bundler (some 2 GB) goes once its instance serves.
          endBundlersWhenReady: true,
          handlerEnv: E2E_HANDLER_ENV,
          // The checkout under the other reading of the upstream's 503: as ambiguous as a 500.
          apiVariants: { 'ambiguous-503': { UPSTREAM_503_MEANS_NO_EFFECT: 'false' } },
          onApiOutput: (chunk) => appendFileSync(offlineLog(index + 1), chunk),
        }).then(
          (value) => ({ status: 'fulfilled' as const, value }),
          (reason: unknown) => ({ status: 'rejected' as const, reason }),
        ),
      );
    }
    for (const result of stacks) if (result.status === 'fulfilled') onRelease('e2e', () => result.value.stop());
    const failed = stacks.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    const up = stacks.map((result) => (result as PromiseFulfilledResult<Stack>).value);
    const run: E2eRun = {
      stacks: up,
      statusDir: mkdtempSync(path.join(os.tmpdir(), 'pos-basket-e2e-status-')),
      contractDir: mkdtempSync(path.join(os.tmpdir(), 'pos-basket-contract-')),
      logs: up.map((_, index) => offlineLog(index + 1)),
      up: new Set(),
    };
    globalThis.__POS_TEST_E2E__ = run;
    up.forEach((stack, index) => {
      const worker = index + 1;
      stack.apiReady.then(
        () => {
          run.up.add(index);
          writeStatus(run.statusDir, worker, 'ready');
          process.stdout.write(
            `[tests] e2e: worker ${worker}'s stack is up ${((Date.now() - started) / 1000).toFixed(1)} s after setup began\n`,
          );
        },
        (error: Error) => writeStatus(run.statusDir, worker, `failed\n${error.message}`),
      );
    });
    handToWorkers('e2e', {
      shared: { TEST_SIMULATOR_URL: simulator.url, AUTH_JWT_SECRET: jwtSecret, TEST_CONTRACT_DIR: run.contractDir },
      workers: up.map((stack, index) => ({
        DATABASE_URL: stack.databaseUrl,
        TEST_API_URL: stack.apiUrl!,
        TEST_LAMBDA_URL: stack.lambdaUrl!,
        TEST_API_URL_AMBIGUOUS_503: stack.variants['ambiguous-503'].apiUrl,
        TEST_LAMBDA_URL_AMBIGUOUS_503: stack.variants['ambiguous-503'].lambdaUrl,
        TEST_OFFLINE_LOG: offlineLog(index + 1),
        TEST_STACK_STATUS: statusFile(run.statusDir, index + 1),
      })),
    });
    process.stdout.write(
      `\n[tests] e2e: ${up.length} stack(s) starting (one per worker): api ${up.map((stack) => stack.apiUrl).join(', ')}; simulator ${simulator.url}; handler logs in ${offlineLog(1).replace(/w1\.log$/, 'w<n>.log')}\n`,
    );
  } catch (error) {
    await releaseAll();
    if (!process.env.KEEP_TEST_LOGS) for (let worker = 1; worker <= slots; worker++) rmSync(offlineLog(worker), { force: true });
    throw error;
  }
}

const statusFile = (dir: string, worker: number) => path.join(dir, `w${worker}`);

/** Written whole (to a temp name, then renamed): a worker never reads half a status. */
function writeStatus(dir: string, worker: number, status: string): void {
  const file = statusFile(dir, worker);
  writeFileSync(`${file}.tmp`, status);
  renameSync(`${file}.tmp`, file);
}
