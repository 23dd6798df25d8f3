import { tierSettings, type Tier } from './tier-settings';

/**
 * Runs before each test file of a tier (jest setupFiles): copies the settings
 * the tier's global setup made (for all workers, and for this one: its own
 * stack) into process.env, which is the test file's own copy of the worker's.
 */
export function applyTierEnv(tier: Tier): void {
  const settings = tierSettings(tier);
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  const own = settings.workers.length > 0 ? settings.workers[worker - 1] : {};
  if (!own) throw new Error(`the ${tier} global setup prepared ${settings.workers.length} worker(s), and this is worker ${worker}`);
  Object.assign(process.env, settings.shared, own);
}
