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
