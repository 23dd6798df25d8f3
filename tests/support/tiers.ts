import type { Config } from '@jest/types';
import { configFromEnv, DEV_JWT_SECRET, startSimulator, type RunningSimulator } from '../../dev/simulator';
import { releaseEverything, releaseTierDatabases } from './test-databases';
import type { Tier } from './tier-settings';

export { handToWorkers } from './tier-settings';

/**
 * What the global setups of the test tiers share (all of it runs in the jest
 * parent process):
 *
 * - unit (tests/unit): nothing, no global setup.
 * - integration (tests/integration, tests/simulation, tests/simulator):
 *   tests/support/integration-setup.ts, a migrated template database from which
 *   each test file gets a database of its own (tests/support/integration-environment.ts),
 *   the Data API emulator and the upstream simulator.
 * - e2e (tests/e2e): tests/support/global-setup.ts, a database per worker and
 *   a whole stack (serverless-offline, its variant, the gateways) per worker
 *   over it, and the simulator.
 * - deploy (tests/deploy): nothing, it packages a copy of the project.
 *
 * A tier's setup hands its workers their settings through one environment
 * variable (tests/support/tier-settings.ts); tests/support/tier-env.ts copies
 * them into process.env before each test file.
 */
declare global {
  var __POS_TEST_PLAN__: { tests: number } | undefined;
  var __POS_TEST_STOPS__: Map<Tier, Array<() => Promise<unknown>>> | undefined;
}

/**
 * How many workers can run this run's test files, so a tier makes that many
 * databases (and stacks): one when jest runs them in the parent process
 * (--runInBand, one worker, or a single test file; the count comes from
 * tests/support/sequencer.js), otherwise maxWorkers. Jest may still decide on
 * its own to run a few fast files in band; then the extra ones go unused.
 */
export function workerSlots(globalConfig: Config.GlobalConfig): number {
  const tests = globalThis.__POS_TEST_PLAN__?.tests;
  if (globalConfig.runInBand || globalConfig.detectOpenHandles || globalConfig.maxWorkers <= 1 || tests === 1) return 1;
  return globalConfig.maxWorkers;
}

/** Registers something a tier's teardown (or a failed setup anywhere) must stop; stopped in reverse order. */
export function onRelease(tier: Tier, stop: () => Promise<unknown>): void {
  globalThis.__POS_TEST_STOPS__ ??= new Map();
  const stops = globalThis.__POS_TEST_STOPS__.get(tier) ?? [];
  stops.push(stop);
  globalThis.__POS_TEST_STOPS__.set(tier, stops);
}

async function runStops(tier: Tier): Promise<void> {
  const stops = globalThis.__POS_TEST_STOPS__?.get(tier) ?? [];
  globalThis.__POS_TEST_STOPS__?.delete(tier);
  for (const stop of stops.reverse())
    await stop().catch((error) => process.stderr.write(`[tests] stopping a part of the ${tier} tier failed: ${error}\n`));
}

/** A tier's teardown: its servers, then its databases (the last tier out also stops the database server). */
export async function releaseTier(tier: Tier): Promise<void> {
  await runStops(tier);
  await releaseTierDatabases(tier);
}

/**
 * Everything every tier started: for a setup that fails (jest then runs no
 * teardown at all) and a teardown about to fail (jest then skips the
 * teardowns after it).
 */
export async function releaseAll(): Promise<void> {
  for (const tier of [...(globalThis.__POS_TEST_STOPS__?.keys() ?? [])]) await runStops(tier);
  await releaseEverything();
}

/** The upstream simulator as the test stack always ran it: a hang outlasts the handlers' 1.5 s call timeout but not a test. */
export const TEST_SIM_HANG_MS = '2500';

/** The upstream simulator for a tier, on a free port; its tokens are signed with the secret it answers. */
export async function startTestSimulator(tier: Tier): Promise<{ simulator: RunningSimulator; jwtSecret: string }> {
  const jwtSecret = process.env.AUTH_JWT_SECRET || DEV_JWT_SECRET;
  const simulator = await startSimulator({ ...configFromEnv({ ...process.env, SIM_HANG_MS: TEST_SIM_HANG_MS }), jwtSecret, port: 0 });
  onRelease(tier, () => simulator.close());
  return { simulator, jwtSecret };
}
