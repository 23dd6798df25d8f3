import { appendFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDataApiEmulator, type DataApiEmulator } from '../../dev/infra/data-api-emulator';
import { startStack, type Stack } from '../../dev/infra/stack';
import { E2E_HANDLER_ENV } from './e2e-env';

declare global {
  // eslint-disable-next-line no-var
  var __POS_TEST_STACK__: Stack | undefined;
  // eslint-disable-next-line no-var
  var __POS_TEST_DATA_API__: DataApiEmulator | undefined;
}

export const OFFLINE_LOG = path.join(os.tmpdir(), `pos-basket-e2e-${process.pid}.log`);

/**
 * One stack for the whole run: a throwaway database (on DATABASE_URL's server,
 * or an embedded Postgres), the simulator, serverless-offline, and a local
 * RDS Data API emulator over the same database (for the suites that run on
 * both drivers). Workers inherit the URLs through the environment.
 */
export default async function globalSetup(): Promise<void> {
  // The AWS SDK warns once per process that its releases from 2027 on need Node 22; the stack is on Node 20 by design.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const env = { ...process.env };
  delete env.UPSTREAM_BASE_URL; // tests always run against the simulator
  // A hang outlasts the handlers' 1.5 s call timeout but not the test; set once, since files run in parallel.
  env.SIM_HANG_MS = '2500';
  const stack = await startStack({
    purpose: 'test',
    env,
    handlerEnv: E2E_HANDLER_ENV,
    // The checkout under the other reading of the upstream's 503: as ambiguous as a 500.
    apiVariants: { 'ambiguous-503': { UPSTREAM_503_MEANS_NO_EFFECT: 'false' } },
    onApiOutput: (chunk) => appendFileSync(OFFLINE_LOG, chunk),
  });
  globalThis.__POS_TEST_STACK__ = stack;
  try {
    globalThis.__POS_TEST_DATA_API__ = await startDataApiEmulator(stack.databaseUrl);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  process.env.DATABASE_URL = stack.databaseUrl;
  process.env.TEST_DATA_API_ENDPOINT = globalThis.__POS_TEST_DATA_API__.endpoint;
  process.env.TEST_API_URL = stack.apiUrl;
  process.env.TEST_LAMBDA_URL = stack.lambdaUrl;
  process.env.TEST_API_URL_AMBIGUOUS_503 = stack.variants['ambiguous-503'].apiUrl;
  process.env.TEST_LAMBDA_URL_AMBIGUOUS_503 = stack.variants['ambiguous-503'].lambdaUrl;
  process.env.TEST_SIMULATOR_URL = stack.simulatorUrl;
  process.env.AUTH_JWT_SECRET = stack.jwtSecret;
  process.env.TEST_OFFLINE_LOG = OFFLINE_LOG;
  // Where tests/support/http.ts records every API answer, for the contract check in global teardown.
  process.env.TEST_CONTRACT_DIR = mkdtempSync(path.join(os.tmpdir(), 'pos-basket-contract-'));
  process.stdout.write(
    `\n[tests] stack up: api ${stack.apiUrl}, simulator ${stack.simulatorUrl}, Data API emulator ${process.env.TEST_DATA_API_ENDPOINT}; handler logs in ${OFFLINE_LOG}\n`,
  );
}
