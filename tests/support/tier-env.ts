import { tierVariable, type Tier, type TierSettings } from './tiers';

/**
 * Runs before each test file of a tier (jest setupFiles): copies the settings
 * the tier's global setup made for this worker (its own database, its own
 * stack) into process.env, which is the test file's own copy of the worker's.
 */
export function applyTierEnv(tier: Tier): void {
  const handed = process.env[tierVariable(tier)];
  if (!handed)
    throw new Error(
      `${tierVariable(tier)} is not set: run the ${tier} tests through jest (npm run test:${tier}), whose global setup starts what they need`,
    );
  const settings = JSON.parse(handed) as TierSettings;
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  const own = settings.workers[worker - 1];
  if (!own) throw new Error(`the ${tier} global setup prepared ${settings.workers.length} worker(s), and this is worker ${worker}`);
  Object.assign(process.env, settings.shared, own);
}
