import type { Sql } from './db/sql';
import { AppError } from './errors';

/** GET /health: the database answers a trivial query, or the service is unavailable (503, retry in 5 s). */
export class HealthCheck {
  constructor(private readonly sql: Sql) {}

  async check(): Promise<{ status: 'ok'; database: 'ok' }> {
    try {
      await this.sql`select 1`;
    } catch (cause) {
      throw new AppError('DATABASE_UNAVAILABLE', 'The database is unreachable', { cause, retryAfterSeconds: 5 });
    }
    return { status: 'ok', database: 'ok' };
  }
}
