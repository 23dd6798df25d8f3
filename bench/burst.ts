/**
 * The burst run (`npm run burst [-- --terminals 50,150 --seed S --snapshot]`):
 * a canteen at lunch. For each size, that many terminals check out at the same
 * instant against a fault-free upstream (each retrying what decides nothing,
 * with its key, within 30 s), then eight check out one after another; the
 * money is judged against the upstream's ledger. Exits 1 on a money problem.
 */
import os from 'node:os';
import { burstFlag, burstMoneyProblems, burstSizes, runBurstCells } from './support/burst';
import { readFlags } from './support/cli';
import { describeEnv, handlerEnv, withBenchStack, writeResults, type Profile } from './support/harness';

const flags = readFlags('burst', {
  terminals: burstFlag('BURST_TERMINALS'),
  seed: { help: 'simulator seed (and basket contents)', default: 42, env: 'BURST_SEED', min: 0, max: 0xffffffff, integer: true },
  'latency-median-ms': { help: 'upstream latency median', default: 60, min: 0 },
  'latency-p99-ms': { help: 'upstream latency p99', default: 600, min: 0 },
  snapshot: {
    help: 'run the handlers from a clean export of HEAD instead of this working tree',
    default: 0,
    env: 'BURST_SNAPSHOT',
    boolean: true,
  },
});

const profile: Profile = {
  seed: flags.seed,
  latency: { medianMs: flags['latency-median-ms'], p99Ms: Math.max(flags['latency-p99-ms'], flags['latency-median-ms']) },
  faults: { rate503: 0, rate500After: 0, rateHangAfter: 0, rateReset: 0 },
  hangMs: 30_000,
  declineRate: 0,
};
const env = handlerEnv();

async function main(): Promise<void> {
  const sizes = burstSizes(flags.terminals);
  console.log(
    `burst: ${sizes.join(' then ')} terminals at once, fault-free upstream; machine ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`  handler env: ${describeEnv(env)}`);
  const results = await withBenchStack('burst', env, { snapshot: flags.snapshot === 1 }, async (bench) => {
    await bench.sim.reset();
    await bench.sim.configure(profile);
    return { code: bench.code, cells: await runBurstCells(bench, sizes, flags.seed, profile.latency, (line) => console.log(line)) };
  });
  const file = writeResults('burst-latest.json', {
    generatedAt: new Date().toISOString(),
    machine: { cores: os.cpus().length, load: os.loadavg() },
    handlerEnv: env,
    ...results,
  });
  console.log(`\nwrote ${file}`);
  const problems = burstMoneyProblems(results.cells);
  if (problems > 0) {
    console.error(`burst: MONEY INVARIANT BROKEN (${problems} problems)`);
    process.exit(1);
  }
}

main().catch((error) => {
  console.error(`burst failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  process.exit(1);
});
