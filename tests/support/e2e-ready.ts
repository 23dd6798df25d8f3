import { readFileSync } from 'node:fs';

/**
 * Runs in every e2e test file before its own hooks (jest setupFilesAfterEnv):
 * global setup returns while the stacks' serverless-offline instances are
 * still bundling (the other tiers' tests run meanwhile), so the file first
 * waits until its worker's stack is up, and fails with the stack's own error
 * when it did not start.
 */
const STACK_START_DEADLINE_MS = 300_000;

beforeAll(async () => {
  const file = process.env.TEST_STACK_STATUS;
  if (!file)
    throw new Error(
      'TEST_STACK_STATUS is not set: run the e2e tests through jest (npm run test:e2e), whose global setup starts the stacks',
    );
  const giveUpAt = Date.now() + STACK_START_DEADLINE_MS;
  for (;;) {
    let status: string | undefined;
    try {
      status = readFileSync(file, 'utf8');
    } catch {
      // not written yet: still starting
    }
    if (status === 'ready') return;
    if (status?.startsWith('failed')) throw new Error(`this worker's stack did not start: ${status.slice('failed\n'.length)}`);
    if (Date.now() > giveUpAt) throw new Error(`this worker's stack was not up within ${STACK_START_DEADLINE_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, STACK_START_DEADLINE_MS + 10_000);
