import fc from 'fast-check';
import { REGRESSIONS } from '../../dev/checkout-simulation/regressions';
import { ScriptedScheduler } from '../../dev/checkout-simulation/runtime';
import { checkoutProperty, clearRecords, runSchedule } from '../../dev/checkout-simulation/simulation';
import { drivers, ownDatabase } from '../support/drivers';

/**
 * The checkout protocol (docs/checkout-protocol.md) under many actors at
 * once, on the real repositories and SQL: every regression case replayed
 * step by step, then a fixed-seed share of the random simulation that
 * `npm run simulate` runs at length.
 */
const SEED = 20261202;
const SCHEDULES = Number(process.env.SIMULATION_SCHEDULES ?? 1000);

const postgres = drivers[0];
const database = ownDatabase(postgres, 'checkout_simulation', { migrated: true });
const url = () => {
  const target = new URL(process.env.DATABASE_URL!);
  target.pathname = `/${database.name}`;
  return target.toString();
};

describe('the checkout simulation', () => {
  describe.each(REGRESSIONS)('replays: $name', (regression) => {
    it(`no longer: ${regression.was}`, async () => {
      await clearRecords(database.admin);
      const scheduler = new ScriptedScheduler(regression.script);

      const result = await runSchedule(database.admin, url(), scheduler, regression.plan);

      const outcome = { broken: result.broken, unplayed: scheduler.unplayed };
      if (process.env.SIMULATION_TRACE || outcome.broken.length > 0 || outcome.unplayed.length > 0)
        process.stdout.write(`\n${regression.name}\n${result.trace}\n`);
      expect(outcome).toEqual({ broken: [], unplayed: [] });
    });
  });

  it(`keeps every invariant over ${SCHEDULES} random schedules (seed ${SEED})`, async () => {
    await fc.assert(checkoutProperty(database.admin, url()), { numRuns: SCHEDULES, seed: SEED });
  }, 120_000);
});
