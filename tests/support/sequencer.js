// Plain CommonJS: jest loads its test sequencer without transforming it.
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

/**
 * Rough seconds of the files known to be slow, for a run with no timings of
 * its own yet (a clean clone; later runs use jest's record of the last one).
 * Only the order uses them: a wrong or missing entry costs time, never a result.
 */
const KNOWN_SLOW = {
  'tests/e2e/orders-readings.test.ts': 50,
  'tests/e2e/orders-money-paths.test.ts': 30,
  'tests/e2e/orders-concurrency.test.ts': 20,
  'tests/e2e/crash-recovery.test.ts': 20,
  'tests/e2e/client.test.ts': 25,
  'tests/e2e/orders-faults.test.ts': 12,
  'tests/e2e/routes.property.test.ts': 10,
  'tests/e2e/orders-payments.test.ts': 10,
  'tests/deploy/package.test.ts': 20,
  'tests/integration/order-repository.test.ts': 20,
  'tests/integration/repository-contract.test.ts': 15,
  'tests/simulation/checkout.test.ts': 15,
};

/** Files at least this slow (s) run before the e2e files; the quicker ones after them, to even out the end. */
const LONG = 10;

const isE2e = (test) => test.context.config.displayName?.name === 'e2e';

/**
 * Longest first (by the last run's timings, else KNOWN_SLOW, else file size),
 * so no worker is left with a long file at the end: the longest other file,
 * the longest e2e file (the stacks finish starting behind global setup
 * meanwhile, tests/support/global-setup.ts), the other long files of the other
 * tiers, the other e2e files, then the short files, which fill in around the
 * last e2e files.
 *
 * It also notes how many test files the run has (jest sorts them before it
 * runs any global setup): a tier's setup (tests/support/tiers.ts, workerSlots)
 * prepares one database and stack instead of one per worker when jest runs a
 * single file in its own process.
 */
class TierSequencer extends Sequencer {
  sort(tests) {
    globalThis.__POS_TEST_PLAN__ = { tests: tests.length };
    super.sort(tests); // sets test.duration from jest's record of the last run
    const seconds = (test) => {
      if (test.duration != null) return test.duration / 1000;
      const known = KNOWN_SLOW[path.relative(test.context.config.rootDir, test.path).split(path.sep).join('/')];
      return known ?? (test.context.hasteFS.getSize(test.path) ?? 0) / 100_000; // a 10 kB file: 0.1 s
    };
    const byLength = [...tests].sort((a, b) => seconds(b) - seconds(a));
    const others = byLength.filter((test) => !isE2e(test));
    const [long, e2e, short] = [
      others.filter((test) => seconds(test) >= LONG),
      byLength.filter(isE2e),
      others.filter((test) => seconds(test) < LONG),
    ];
    // The longest e2e file second: its worker waits for its stack while the first takes the longest other file, then
    // it runs beside the other long files, whose work fills its waits (it mostly waits on the upstream's delays).
    return [...long.slice(0, 1), ...e2e.slice(0, 1), ...long.slice(1), ...e2e.slice(1), ...short];
  }
}

module.exports = TierSequencer;
