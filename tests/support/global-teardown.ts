import { rmSync } from 'node:fs';
import { ContractChecker, readRecordedCalls } from './contract';

/** At most this many mismatches are listed; the count says how many more there were. */
const LISTED_MISMATCHES = 40;

/** A teardown that waits forever keeps CI waiting forever: the stack is stopped whatever the document fetch does. */
const DOCUMENT_DEADLINE_MS = 30_000;

async function readDocument(apiUrl: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${apiUrl}/openapi.json`, { signal: AbortSignal.timeout(DOCUMENT_DEADLINE_MS) });
  if (response.status !== 200) throw new Error(`GET /openapi.json answered ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

function withinDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} gave no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export default async function globalTeardown(): Promise<void> {
  let mismatches: string[] = [];
  let calls = 0;
  try {
    const stack = globalThis.__POS_TEST_STACK__;
    const dir = process.env.TEST_CONTRACT_DIR;
    if (stack?.apiUrl && dir) {
      // The document as the API serves it, checked against every answer the tests received.
      const document = await withinDeadline(readDocument(stack.apiUrl), DOCUMENT_DEADLINE_MS, 'GET /openapi.json');
      const recorded = readRecordedCalls(dir);
      calls = recorded.length;
      mismatches = new ContractChecker(document).check(recorded);
    }
  } finally {
    await globalThis.__POS_TEST_DATA_API__?.stop().catch(() => undefined); // before the stack drops the database under it
    globalThis.__POS_TEST_DATA_API__ = undefined;
    await globalThis.__POS_TEST_STACK__?.stop();
    globalThis.__POS_TEST_STACK__ = undefined;
    if (process.env.TEST_OFFLINE_LOG && !process.env.KEEP_TEST_LOGS) rmSync(process.env.TEST_OFFLINE_LOG, { force: true });
    if (process.env.TEST_CONTRACT_DIR && !process.env.KEEP_TEST_LOGS) rmSync(process.env.TEST_CONTRACT_DIR, { recursive: true, force: true });
  }
  if (mismatches.length > 0) {
    const listed = mismatches.slice(0, LISTED_MISMATCHES).map((problem) => `  - ${problem}`);
    if (mismatches.length > LISTED_MISMATCHES) listed.push(`  … and ${mismatches.length - LISTED_MISMATCHES} more`);
    throw new Error(`API answers that the OpenAPI document (GET /openapi.json) does not describe:\n${listed.join('\n')}`);
  }
  if (calls > 0) process.stdout.write(`[tests] API contract: ${calls} answers match the OpenAPI document\n`);
}
