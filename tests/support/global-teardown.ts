import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  try {
    await globalThis.__POS_TEST_DATA_API__?.stop(); // before the stack drops the database under it
  } finally {
    globalThis.__POS_TEST_DATA_API__ = undefined;
    await globalThis.__POS_TEST_STACK__?.stop();
    globalThis.__POS_TEST_STACK__ = undefined;
  }
  if (process.env.TEST_OFFLINE_LOG && !process.env.KEEP_TEST_LOGS) rmSync(process.env.TEST_OFFLINE_LOG, { force: true });
}
