import type { Query, Sql } from '../db/sql';
import type { BasketStatus } from './basket';

/**
 * The one guard of every basket write, for a `where` clause: the caller's
 * basket, open, and at `expectedVersion` when the caller gave one (If-Match).
 * A write it stops is explained by basketWriteRefusal(await basketState(…)).
 */
export function writableBasket(sql: Sql, ownerId: string, basketId: string, expectedVersion: number | undefined): Query {
  const version = expectedVersion ?? null;
  return sql`id = ${basketId} and owner_id = ${ownerId} and status = 'open' and (${version}::int is null or version = ${version}::int)`;
}

/** The basket's status and version as they are now: why the guard stopped a write (basketWriteRefusal says it to the caller). */
export async function basketState(
  sql: Sql,
  ownerId: string,
  basketId: string,
): Promise<{ status: BasketStatus; version: number } | undefined> {
  const [current] = await sql<{ status: BasketStatus; version: number }[]>`
    select status, version from baskets where id = ${basketId} and owner_id = ${ownerId}`;
  return current;
}
