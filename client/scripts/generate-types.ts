/**
 * `npm run client:generate`: writes the client's generated types (see
 * types-source.ts). With --stdout it prints them instead, for the staleness
 * test (tests/unit/client-types.test.ts), which runs it in its own process:
 * openapi-typescript loads ES-module-only packages that jest's module system
 * cannot. Run from the repository's root.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GENERATED_TYPES_FILE, generateTypes } from './types-source';

async function main(): Promise<void> {
  const root = process.cwd();
  if (!existsSync(path.join(root, 'client', 'package.json'))) throw new Error('run it from the repository root: npm run client:generate');
  const text = await generateTypes(root);
  if (process.argv.includes('--stdout')) {
    process.stdout.write(text);
    return;
  }
  writeFileSync(path.join(root, GENERATED_TYPES_FILE), text);
  console.log(`wrote ${GENERATED_TYPES_FILE} (${text.split('\n').length} lines)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
