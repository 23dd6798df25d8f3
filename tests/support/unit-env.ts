import { DEV_JWT_SECRET } from '../../lib/dev-secrets';

/**
 * Runs before each unit test file (jest setupFiles). Unit tests start nothing,
 * but handlers invoked in-process read the service's configuration, which
 * wants a signing secret and a database: the dev secret, and a database URL
 * that nothing listens on (port 1), so a unit test that did reach for a
 * database would fail at once instead of using whatever DATABASE_URL points at.
 */
process.env.AUTH_JWT_SECRET = process.env.AUTH_JWT_SECRET || DEV_JWT_SECRET;
process.env.DATABASE_URL = 'postgres://unit-tests-use-no-database@127.0.0.1:1/none';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
