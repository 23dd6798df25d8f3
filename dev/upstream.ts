/**
 * Runs the upstream POS API simulator on its own: `npm run upstream [-- --port N --seed N]`.
 * Config comes from SIM_* variables (see dev/simulator/config.ts), SIM_PORT and AUTH_JWT_SECRET.
 */
import { configFromEnv, DEV_JWT_SECRET, DEV_USER, signDevToken, startSimulator, type SimulatorConfig } from './simulator';
import { resolveConfig } from './simulator/config';

const DEFAULT_PORT = 4010;

interface CliFlags {
  port?: number;
  seed?: number;
}

function parseInteger(name: string, raw: string | undefined, min: number, max: number): number {
  const value = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got "${raw ?? ''}"`);
  }
  return value;
}

function parseFlags(args: string[]): CliFlags {
  const flags: CliFlags = {};
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (flag === '--port') flags.port = parseInteger('--port', value, 0, 65535);
    else if (flag === '--seed') flags.seed = parseInteger('--seed', value, 0, 0xffffffff);
    else throw new Error(`Unknown argument "${flag}" (expected --port N, --seed N)`);
  }
  return flags;
}

function portFrom(flags: CliFlags, env: NodeJS.ProcessEnv): number {
  if (flags.port !== undefined) return flags.port;
  return env.SIM_PORT ? parseInteger('SIM_PORT', env.SIM_PORT, 0, 65535) : DEFAULT_PORT;
}

function configFrom(flags: CliFlags, env: NodeJS.ProcessEnv): SimulatorConfig {
  const fromEnv = configFromEnv(env);
  return resolveConfig(flags.seed === undefined ? fromEnv : { ...fromEnv, seed: flags.seed });
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const jwtSecret = process.env.AUTH_JWT_SECRET || DEV_JWT_SECRET;
  const config = configFrom(flags, process.env);
  const simulator = await startSimulator({ ...config, port: portFrom(flags, process.env), jwtSecret });
  const token = await signDevToken(jwtSecret, DEV_USER);

  console.log(`Upstream simulator listening on ${simulator.url}`);
  console.log(`Config: ${JSON.stringify(config)}`);
  console.log(`Dev token for ${DEV_USER} (valid 24 h):\n  ${token}`);
  console.log(`Try:\n  curl -s -H 'x-auth-user: ${token}' ${simulator.url}/products/`);
  console.log(
    `Admin (no auth) under ${simulator.url}: GET /__ledger, GET|PUT /__config, GET|PUT|DELETE /__profiles/{user}, POST /__faults, POST /__reset`,
  );

  const stop = (signal: NodeJS.Signals) => {
    console.log(`${signal}: stopping upstream simulator`);
    simulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
