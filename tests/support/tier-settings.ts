/**
 * How a tier's global setup (jest parent process) hands its workers their
 * settings: one environment variable, POS_TEST_TIER_<TIER>, which the workers
 * inherit. No imports: the workers read it before every test file.
 */
export type Tier = 'integration' | 'e2e';

export interface TierSettings {
  /** Copied into every test file's process.env (tests/support/tier-env.ts). */
  shared: Record<string, string>;
  /** Copied into the process.env of the test files of one worker; index 0 is JEST_WORKER_ID 1. Empty: no per-worker settings. */
  workers: Array<Record<string, string>>;
  /** Where a test file's own database is made from (tests/support/integration-environment.ts). */
  databases?: { serverUrl: string; template: string; prefix: string };
}

export const tierVariable = (tier: Tier) => `POS_TEST_TIER_${tier.toUpperCase()}`;

export function handToWorkers(tier: Tier, settings: TierSettings): void {
  process.env[tierVariable(tier)] = JSON.stringify(settings);
}

/** The settings the tier's global setup handed over; throws when jest ran no such setup. */
export function tierSettings(tier: Tier, env: NodeJS.ProcessEnv = process.env): TierSettings {
  const handed = env[tierVariable(tier)];
  if (!handed)
    throw new Error(
      `${tierVariable(tier)} is not set: run the ${tier} tests through jest (npm run test:${tier}), whose global setup starts what they need`,
    );
  return JSON.parse(handed) as TierSettings;
}
