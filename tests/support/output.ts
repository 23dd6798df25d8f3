import { readFileSync } from 'node:fs';

/**
 * Captures what is written to stdout and stderr (Powertools writes info to
 * one, warn and error to the other) until `stop()`, which gives it back.
 */
export function captureStart(): { stop(): string } {
  const chunks: string[] = [];
  const capture = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  return {
    stop: () => {
      out.mockRestore();
      err.mockRestore();
      return chunks.join('');
    },
  };
}

/** Everything written to stdout and stderr while `work` runs. */
export function captureOutput(work: () => void): string {
  const capture = captureStart();
  try {
    work();
  } catch (error) {
    capture.stop();
    throw error;
  }
  return capture.stop();
}

/** The JSON lines of some output (log lines and EMF metrics alike). */
export const jsonLines = (output: string): Record<string, any>[] =>
  output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, any>);

/**
 * The JSON lines the test stack's handlers have written so far, log lines and
 * EMF metrics alike (global setup writes serverless-offline's output to
 * TEST_OFFLINE_LOG, each handler line after serverless-offline's prefix).
 */
export function handlerOutput(): Record<string, any>[] {
  const file = process.env.TEST_OFFLINE_LOG;
  if (!file) throw new Error('TEST_OFFLINE_LOG is not set; run the tests through jest so global setup starts the stack');
  const entries: Record<string, any>[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const start = line.indexOf('{');
    if (start < 0) continue;
    try {
      entries.push(JSON.parse(line.slice(start)));
    } catch {
      // serverless-offline's own lines, or a line still being written
    }
  }
  return entries;
}
