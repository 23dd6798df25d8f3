// Plain CommonJS: jest loads its test sequencer without transforming it.
const Sequencer = require('@jest/test-sequencer').default;

const isE2e = (test) => test.context.config.displayName?.name === 'e2e';

/**
 * Jest's own order (failed first, then slowest first by the last run's
 * timings, else biggest file first), with the e2e files after all the others:
 * their stacks finish starting behind global setup (tests/support/global-setup.ts)
 * while the unit, integration and deploy files run.
 *
 * It also notes how many test files the run has (jest sorts them before it
 * runs any global setup): a tier's setup (tests/support/tiers.ts, workerSlots)
 * prepares one database and stack instead of one per worker when jest runs a
 * single file in its own process.
 */
class TierSequencer extends Sequencer {
  sort(tests) {
    globalThis.__POS_TEST_PLAN__ = { tests: tests.length };
    const sorted = super.sort(tests);
    return [...sorted.filter((test) => !isE2e(test)), ...sorted.filter(isE2e)];
  }
}

module.exports = TierSequencer;
