/**
 * The secrets this repository publishes for local development (`npm start`,
 * the simulator, the docs). Never valid on a deployed stage: lib/config.ts
 * refuses them there.
 */

/** Signs the dev tokens the simulator accepts (AUTH_JWT_SECRET's local default). */
export const DEV_JWT_SECRET = 'dev-secret-change-me';

/** Seals stored tokens when TOKEN_ENCRYPTION_KEYS is unset, locally. */
export const DEV_TOKEN_ENCRYPTION_KEYS = 'dev:et4j7OJqey5/XVD3dM9agifwk1r6KIYoAxNcDrWs4wE=';
