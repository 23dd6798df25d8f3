import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ERROR_STATUS } from '../../lib/errors';

/**
 * The client's generated types (client/src/generated/api.ts) are the API's
 * OpenAPI document, built in-process from the route registry, as
 * openapi-typescript renders it. CI fails here when the committed file is
 * stale: a route, schema or error code changed and `npm run client:generate`
 * was not run. The generator runs in a process of its own (tsx): it loads
 * ES-module-only packages that jest's module system cannot.
 */
const root = path.resolve(__dirname, '../..');
const GENERATED = 'client/src/generated/api.ts';

describe('the client types generated from the OpenAPI document', () => {
  it('are up to date (run `npm run client:generate` when this fails)', async () => {
    const tsx = require.resolve('tsx/cli', { paths: [root] });
    const { stdout: fresh } = await promisify(execFile)(process.execPath, [tsx, 'client/scripts/generate-types.ts', '--stdout'], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    });
    const committed = readFileSync(path.join(root, GENERATED), 'utf8');
    // Not toBe on the whole text: a stale file of 3,000 lines would print them all; the first differing line says enough.
    const [committedLines, freshLines] = [committed.split('\n'), fresh.split('\n')];
    const line = freshLines.findIndex((text, index) => text !== committedLines[index]);
    expect(line === -1 ? 'up to date' : { line: line + 1, committed: committedLines[line], generated: freshLines[line] }).toBe(
      'up to date',
    );
    expect(committedLines.length).toBe(freshLines.length);
  }, 30_000);

  it('name every error code the service can answer', () => {
    const generated = readFileSync(path.join(root, GENERATED), 'utf8');
    for (const code of Object.keys(ERROR_STATUS)) expect(generated).toContain(`'${code}'`);
  });
});
