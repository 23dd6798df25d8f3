process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { migrate } from '../lib/db/migrate';
import { connect } from '../lib/db/sql';
import { checkoutProperty } from './checkout-simulation/simulation';
import { createDatabase, dropDatabase, startEmbeddedPostgres, type DatabaseHandle } from './infra/database';

const USAGE = `npm run simulate -- [--runs N] [--seed S] [--path P]

Runs the deterministic simulation of the checkout protocol (docs/checkout-protocol.md):
N schedules (default 1000) from seed S (default: random, printed), each a basket
with several actors at once under a scheduler, the upstream's fates drawn per call,
then driven to rest and checked. A failure prints its seed, path, the shrunk plan
and its trace; --seed S --path P replays exactly that schedule.
Uses DATABASE_URL's server when set, else an embedded Postgres; a throwaway database either way.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string' }, seed: { type: 'string' }, path: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const runs = Number(values.runs ?? 1000);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 0x7fffffff) : Number(values.seed);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) throw new Error(`--runs and --seed take integers\n\n${USAGE}`);

  let server: DatabaseHandle | undefined;
  const serverUrl =
    process.env.DATABASE_URL ?? (server = await startEmbeddedPostgres({ name: `simulation-${process.pid}`, persistent: false })).url;
  const name = `pos_simulation_${process.pid}`;
  const url = await createDatabase(serverUrl, name);
  const sql = connect(url, { max: 1 });
  const started = Date.now();
  try {
    await migrate(sql);
    console.log(`simulating ${runs} schedules from seed ${seed}${values.path ? ` (path ${values.path})` : ''}`);
    const details = await fc.check(checkoutProperty(sql, url), { numRuns: runs, seed, path: values.path, endOnFailure: false });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (details.failed) {
      const [, plan] = details.counterexample ?? [];
      console.log(`Shrunk plan: ${JSON.stringify(plan)}\n`);
      console.log(details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance));
      console.log(
        `\nFAILED after ${details.numRuns} schedules (${seconds} s). Replay: npm run simulate -- --runs 1 --seed ${details.seed} --path ${details.counterexamplePath}`,
      );
      process.exitCode = 1;
    } else {
      console.log(`${details.numRuns} schedules, no invariant broken (${seconds} s, seed ${seed})`);
    }
  } finally {
    await sql.end();
    await dropDatabase(serverUrl, name);
    await server?.stop();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
