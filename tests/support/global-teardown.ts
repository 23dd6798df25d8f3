import { rmSync } from 'node:fs';
import { ContractChecker, readRecordedCalls } from './contract';
import { releaseAll, releaseTier } from './tiers';

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
  const run = globalThis.__POS_TEST_E2E__;
  globalThis.__POS_TEST_E2E__ = undefined;
  let mismatches: string[] = [];
  let calls = 0;
  let checked = false;
  try {
    // Any stack that came up serves the same document.
    const apiUrl = run?.stacks.find((_, index) => run.up.has(index))?.apiUrl;
    if (run && apiUrl) {
      // The document as the API serves it, checked against every answer the tests received (from every worker's stack).
      const document = await withinDeadline(readDocument(apiUrl), DOCUMENT_DEADLINE_MS, 'GET /openapi.json');
      const recorded = readRecordedCalls(run.contractDir);
      calls = recorded.length;
      mismatches = new ContractChecker(document).check(recorded);
    }
    checked = true;
  } finally {
    // The stacks, the simulator, then the databases (and the server, if no other tier still uses it). Jest runs no
    // teardown after one that fails: this one then stops what the other tiers started too.
    if (checked && mismatches.length === 0) await releaseTier('e2e');
    else await releaseAll();
    if (run) rmSync(run.statusDir, { recursive: true, force: true });
    if (run && !process.env.KEEP_TEST_LOGS) {
      for (const log of run.logs) rmSync(log, { force: true });
      rmSync(run.contractDir, { recursive: true, force: true });
    }
  }
  if (mismatches.length > 0) {
    const listed = mismatches.slice(0, LISTED_MISMATCHES).map((problem) => `  - ${problem}`);
    if (mismatches.length > LISTED_MISMATCHES) listed.push(`  … and ${mismatches.length - LISTED_MISMATCHES} more`);
    throw new Error(`API answers that the OpenAPI document (GET /openapi.json) does not describe:\n${listed.join('\n')}`);
  }
  if (calls > 0) process.stdout.write(`[tests] API contract: ${calls} answers match the OpenAPI document\n`);
}
