import type { Clock } from '../clock';
import type { Query, Sql } from './sql-interface';

/**
 * The time a statement stamps rows with and compares leases and expiries
 * against: the database's own now() (one clock for every Lambda), or the
 * given clock's (the checkout simulation's virtual time).
 */
export function sqlNow(sql: Sql, clock: Clock | undefined): Query {
  return clock ? sql`${new Date(clock.now())}::timestamptz` : sql`now()`;
}
