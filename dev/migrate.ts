import { connect } from '../lib/db/sql';
import { migrate } from '../lib/db/migrate';

/** `npm run migrate`: applies pending migrations to DATABASE_URL. */
async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is not set. `npm start` migrates its own embedded database; set DATABASE_URL to migrate another.');
    process.exit(2);
  }
  const sql = connect(url, { max: 1 });
  try {
    const applied = await migrate(sql);
    console.log(applied.length ? `Applied ${applied.join(', ')}` : 'Database is up to date');
  } finally {
    await sql.end();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
