import { db } from '../lib/db/sql';
import { AppError } from '../lib/errors';
import { endpoint } from '../lib/http/endpoint';
import { ok } from '../lib/http/reply';
import { routes } from '../lib/http/routes';

export const handler = endpoint(routes.health, async () => {
  try {
    await db()`select 1`;
  } catch (cause) {
    throw new AppError('DATABASE_UNAVAILABLE', 'The database is unreachable', { cause, retryAfterSeconds: 5 });
  }
  return ok({ status: 'ok', database: 'ok' });
});
