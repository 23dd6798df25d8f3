/**
 * Four projects (the test tiers), each with only the global setup its tests
 * need. Jest runs a project's global setup only when a test file of it is
 * selected, and runs the files of all selected projects side by side on the
 * same workers.
 *
 *   unit         tests/unit                                  nothing started
 *   integration  tests/integration, simulation, simulator    a database per test file, Data API emulator, simulator
 *                                                            (tests/support/integration-setup.ts)
 *   e2e          tests/e2e                                   a whole stack per worker (tests/support/global-setup.ts),
 *                                                            started behind the other tiers' tests; e2e files run last
 *   deploy       tests/deploy                                nothing started (it packages a copy of the project)
 *
 * `npm test` runs them all. `npm run test:unit`, `test:integration` and
 * `test:e2e` (e2e and deploy) name their tiers in TEST_TIERS (comma-separated),
 * so file names and jest flags after `--` still apply, e.g.
 * `npm run test:e2e -- tests/e2e/orders-smoke.test.ts`. Without TEST_TIERS
 * jest runs the tiers of the files it selects: `npx jest tests/unit/money.test.ts`
 * starts nothing.
 */
const common = {
  testEnvironment: 'node',
  // Middy ships ESM only; swc turns it into CommonJS for jest like our own TypeScript.
  transform: { '^.+\\.(t|j)s$': ['@swc/jest'] },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  // The client package (client/) is ES modules, whose relative imports name the .js they compile to;
  // jest finds the .ts beside it. An import of a real .js file still resolves to that file (js is tried first).
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  roots: ['<rootDir>/tests'],
};

const tier = (name, dirs, extra = {}) => ({
  ...common,
  displayName: name,
  testMatch: dirs.map((dir) => `<rootDir>/tests/${dir}/**/*.test.ts`),
  setupFiles: ['<rootDir>/tests/support/worker-env.ts', ...(extra.setupFiles ?? [])],
  ...(extra.setupFilesAfterEnv ? { setupFilesAfterEnv: extra.setupFilesAfterEnv } : {}),
  ...(extra.testEnvironment ? { testEnvironment: extra.testEnvironment } : {}),
  ...(extra.globalSetup ? { globalSetup: extra.globalSetup, globalTeardown: extra.globalTeardown } : {}),
});

const tiers = [
  tier('unit', ['unit'], { setupFiles: ['<rootDir>/tests/support/unit-env.ts'] }),
  tier('integration', ['integration', 'simulation', 'simulator'], {
    // Node's, with a database of the test file's own (DATABASE_URL).
    testEnvironment: '<rootDir>/tests/support/integration-environment.ts',
    setupFiles: ['<rootDir>/tests/support/integration-worker-env.ts'],
    globalSetup: '<rootDir>/tests/support/integration-setup.ts',
    globalTeardown: '<rootDir>/tests/support/integration-teardown.ts',
  }),
  tier('e2e', ['e2e'], {
    setupFiles: ['<rootDir>/tests/support/e2e-worker-env.ts'],
    // Its stack starts behind global setup: each file first waits until its worker's stack is up.
    setupFilesAfterEnv: ['<rootDir>/tests/support/e2e-ready.ts'],
    globalSetup: '<rootDir>/tests/support/global-setup.ts',
    globalTeardown: '<rootDir>/tests/support/global-teardown.ts',
  }),
  tier('deploy', ['deploy']),
];

const chosen = (process.env.TEST_TIERS ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const unknown = chosen.filter((name) => !tiers.some((project) => project.displayName === name));
if (unknown.length > 0)
  throw new Error(
    `TEST_TIERS names no tier ${unknown.join(', ')}; the tiers are ${tiers.map((project) => project.displayName).join(', ')}`,
  );

/** @type {import('jest').Config} */
module.exports = {
  // Two cores: the stacks' handlers, Postgres and the simulator need the rest of the machine between them.
  maxWorkers: 2,
  testTimeout: 30000,
  testSequencer: '<rootDir>/tests/support/sequencer.js',
  projects: chosen.length > 0 ? tiers.filter((project) => chosen.includes(project.displayName)) : tiers,
};
