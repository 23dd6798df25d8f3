import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sql } from './sql';

export const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');

/** Any fixed number; every migrating process takes this advisory lock so only one applies migrations at a time. */
const MIGRATION_LOCK_KEY = 727_274_001;
const MIGRATION_FILE = /^(\d{3,})_[\w-]+\.sql$/;

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  sql: string;
}

export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    if (!match) throw new Error(`Migration file name must look like 001_name.sql: ${file}`);
    const sql = await readFile(path.join(dir, file), 'utf8');
    migrations.push({ version: Number(match[1]), name: file, checksum: sha256(sql), sql });
  }
  const versions = migrations.map((m) => m.version);
  const duplicate = versions.find((v, i) => versions.indexOf(v) !== i);
  if (duplicate !== undefined) throw new Error(`Two migrations share version ${duplicate}`);
  return migrations;
}

/**
 * Applies pending migrations in version order, each in its own transaction,
 * recording it in schema_migrations. Safe to run twice and from several
 * processes at once: a session advisory lock serialises the runners, and an
 * applied migration whose file changed afterwards stops the run.
 */
export async function migrate(sql: Sql, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await loadMigrations(dir);
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`
      create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`;
    const applied = new Map(
      (await tx<{ version: number; checksum: string; name: string }[]>`select version, name, checksum from schema_migrations`).map(
        (row) => [row.version, row],
      ),
    );
    const appliedNow: string[] = [];
    for (const migration of migrations) {
      const previous = applied.get(migration.version);
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          throw new Error(`Migration ${migration.name} changed after it was applied (as ${previous.name}); add a new migration instead`);
        }
        continue;
      }
      await tx.unsafe(migration.sql);
      await tx`insert into schema_migrations (version, name, checksum) values (${migration.version}, ${migration.name}, ${migration.checksum})`;
      appliedNow.push(migration.name);
    }
    return appliedNow;
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
