// Plain CommonJS: jest loads its test sequencer without transforming it.
const Sequencer = require('@jest/test-sequencer').default;

/**
 * Jest's own order (failed first, then slowest first, by the last run's
 * timings, else by file size), and a note of how many test files this run
 * has, which jest sorts before it runs any global setup: a tier's setup
 * (tests/support/tiers.ts, workerSlots) prepares one database and stack
 * instead of one per worker when a single file runs, in the jest process.
 */
class TierSequencer extends Sequencer {
  sort(tests) {
    globalThis.__POS_TEST_PLAN__ = { tests: tests.length };
    return super.sort(tests);
  }
}

module.exports = TierSequencer;
