import { db } from '../lib/db/sql';
import { AppError } from '../lib/errors';
import { endpoint } from '../lib/http/endpoint';
import { ok } from '../lib/http/reply';

export const handler = endpoint({ authenticated: false }, async () => {
  try {
    await db()`select 1`;
  } catch (cause) {
    throw new AppError('DATABASE_UNAVAILABLE', 'The database is unreachable', { cause, retryAfterSeconds: 5 });
  }
  return ok({ status: 'ok', database: 'ok' });
});
