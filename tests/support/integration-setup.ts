import { startDataApiEmulator } from '../../dev/infra/data-api-emulator';
import { tierTemplate } from './test-databases';
import { handToWorkers, onRelease, releaseAll, startTestSimulator } from './tiers';

/**
 * The integration tier (tests/integration, tests/simulation, tests/simulator):
 * a migrated template database, from which each test file gets its own
 * (DATABASE_URL, tests/support/integration-environment.ts), the local RDS Data
 * API emulator over their server (TEST_DATA_API_ENDPOINT:
 * tests/support/drivers.ts runs the repositories on both drivers), and the
 * upstream simulator (TEST_SIMULATOR_URL, AUTH_JWT_SECRET: the in-process
 * reconciler's upstream). No serverless-offline: nothing here calls the API.
 */
export default async function integrationSetup(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  try {
    const databases = await tierTemplate('integration');
    // On the server's own database, never the template (a session there would stop CREATE DATABASE … TEMPLATE): each call names its database.
    const dataApi = await startDataApiEmulator(databases.serverUrl);
    onRelease('integration', () => dataApi.stop()); // stopped before the databases under it are dropped
    const { simulator, jwtSecret } = await startTestSimulator('integration');
    handToWorkers('integration', {
      shared: { TEST_DATA_API_ENDPOINT: dataApi.endpoint, TEST_SIMULATOR_URL: simulator.url, AUTH_JWT_SECRET: jwtSecret },
      workers: [],
      databases,
    });
  } catch (error) {
    await releaseAll();
    throw error;
  }
}
