import { ensureAppUser, type AppUser } from '../lib/db/app-user';
import { migrate } from '../lib/db/migrate';
import { chooseDriver } from '../lib/db/driver';
import { connectTo } from '../lib/db/sql';

/**
 * `npm run migrate`: applies pending migrations through either driver:
 * DATABASE_URL (postgres.js), or DATA_API_CLUSTER_ARN + DATA_API_SECRET_ARN +
 * DATA_API_DATABASE with AWS_REGION (the RDS Data API, e.g. from a deploy
 * pipeline against Aurora; DATA_API_ENDPOINT for an emulator).
 *
 * `--app-user-secret <arn>` (or APP_DB_USER_SECRET_ARN): then makes the login
 * user the handlers connect as, from a Secrets Manager secret holding
 * {"username", "password"}: a member of pos_app (rows only, no DDL).
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
    const appUserSecret = argument('--app-user-secret') ?? process.env.APP_DB_USER_SECRET_ARN;
    if (appUserSecret) {
      const user = await readAppUser(appUserSecret);
      console.log(`App user ${user.username}: ${await ensureAppUser(sql, user)} as a member of pos_app`);
    }
  } finally {
    await sql.end();
  }
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function readAppUser(arn: string): Promise<AppUser> {
  const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
  const value = (await getSecret(arn, { transform: 'json' })) as Partial<AppUser> | undefined;
  if (typeof value?.username !== 'string' || typeof value.password !== 'string')
    throw new Error(`${arn} must hold {"username": …, "password": …}`);
  return { username: value.username, password: value.password };
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
