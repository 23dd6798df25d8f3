import { parseConfig } from '../lib/config';
import { invokeLambda } from './infra/offline';
import { startStack, DEV_JWT_SECRET } from './infra/stack';

/**
 * `npm start`: database, migrations, upstream simulator and serverless-offline,
 * then a ready-to-paste curl line. Ctrl-C stops everything it started.
 */
async function main(): Promise<void> {
  const started = Date.now();
  const say = (message: string) => console.log(`[start] ${message}`);
  validateServiceConfig();
  const stack = await startStack({
    purpose: 'dev',
    apiPort: Number(process.env.PORT) || 3000,
    simulatorPort: Number(process.env.SIM_PORT) || 4010,
    log: say,
    onApiOutput: (chunk) => process.stdout.write(chunk),
  });
  const reconcileEveryMs = (Number(process.env.RECONCILE_EVERY_SECONDS) || 15) * 1000;
  // serverless-offline does not run `schedule` events; this stands in for the every-minute schedule.
  const reconcileTimer = setInterval(() => {
    invokeLambda(stack.lambdaUrl!, 'reconciler').catch((error) => say(`reconciler run failed: ${error.message}`));
  }, reconcileEveryMs);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(reconcileTimer);
    say(`${signal}: stopping…`);
    await stack.stop();
    say('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const token = await stack.devToken();
  console.log(`
POS basket service is up (${((Date.now() - started) / 1000).toFixed(1)} s)
  API:       ${stack.apiUrl}
  upstream:  ${stack.upstreamUrl}${stack.simulatorUrl ? ' (simulator; ledger at /__ledger)' : ''}
  database:  ${stack.databaseUrl.replace(/:[^:@/]+@/, ':***@')}
  dev token: ${token}

Try it:
  curl -s ${stack.apiUrl}/products -H 'x-auth-user: ${token}'

The reconciler runs every ${reconcileEveryMs / 1000} s. Ctrl-C stops everything.
`);
}

/** Fail fast, naming the variable, before anything is started. */
function validateServiceConfig(): void {
  parseConfig({
    ...process.env,
    DATABASE_URL: process.env.DATABASE_URL || 'postgres://embedded',
    UPSTREAM_BASE_URL: process.env.UPSTREAM_BASE_URL || 'http://127.0.0.1:4010',
    AUTH_JWT_SECRET: process.env.AUTH_JWT_SECRET || DEV_JWT_SECRET,
  });
}

main().catch((error) => {
  console.error(`[start] failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
