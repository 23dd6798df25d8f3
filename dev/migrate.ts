import { migrate } from '../lib/db/migrate';
import { chooseDriver } from '../lib/db/driver';
import { connectTo } from '../lib/db/sql';

/**
 * `npm run migrate`: applies pending migrations through either driver:
 * DATABASE_URL (postgres.js), or DATA_API_CLUSTER_ARN + DATA_API_SECRET_ARN +
 * DATA_API_DATABASE with AWS_REGION (the RDS Data API, e.g. from a deploy
 * pipeline against Aurora; DATA_API_ENDPOINT for an emulator).
 */
async function main(): Promise<void> {
  const choice = chooseDriver(process.env);
  if ('problem' in choice) {
    console.error(`Cannot migrate: ${choice.problem}. \`npm start\` migrates its own embedded database.`);
    process.exit(2);
  }
  const sql = connectTo(choice, { max: 1 });
  try {
    const applied = await migrate(sql);
    const where = choice.kind === 'postgres' ? 'DATABASE_URL' : `${choice.database} through the RDS Data API`;
    console.log(applied.length ? `Applied ${applied.join(', ')} to ${where}` : `${where} is up to date`);
  } finally {
    await sql.end();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
