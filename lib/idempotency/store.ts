import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import { sqlNow } from '../db/now';
import type { Sql } from '../db/sql';

export interface IdempotencyScope {
  ownerId: string;
  key: string;
  route: string;
  requestHash: string;
}

export interface StoredResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** A key as held by one request: only that request completes or releases it. */
export interface HeldKey extends IdempotencyScope {
  holder: string;
}

export type BeginResult =
  /** The caller owns the key now, as `holder`; `resumed`: a previous holder's in-progress lock had expired. */
  | { kind: 'started'; resumed: boolean; holder: string }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'in_progress' }
  | { kind: 'mismatch' };

export interface IdempotencyStoreOptions {
  /** How long a key is remembered from the start of its request. */
  ttlMs: number;
  /** The time for every comparison and timestamp, when not the database's `now()` (lib/db/now.ts). */
  clock?: Clock;
}

/** The table's check constraint guarantees a completed record holds a whole response. */
type ExistingRecord = { requestHash: string } & (
  { status: 'in_progress' } | { status: 'completed'; responseStatus: number; responseBody: string; responseHeaders: Record<string, string> }
);

/**
 * begin() reads the record only when it could not take it; the read finds
 * nothing only if in between the record was released or purged, or its lock or
 * key ran out. Each of these is rare and makes the next try take the key.
 */
const BEGIN_TRIES = 3;

/**
 * Idempotency-Key records in Postgres. Every decision is made by the database
 * in one guarded statement, so concurrent Lambdas cannot both own a key, and
 * every time comparison uses one clock: the database's (or `options.clock`).
 */
export class IdempotencyStore {
  private readonly sql: Sql;
  private readonly ttlMs: number;
  private readonly clockSource?: Clock;

  constructor(sql: Sql, options: IdempotencyStoreOptions) {
    if (!Number.isInteger(options.ttlMs) || options.ttlMs < 1)
      throw new RangeError(`ttlMs must be a positive integer, got ${options.ttlMs}`);
    this.sql = sql;
    this.ttlMs = options.ttlMs;
    this.clockSource = options.clock;
  }

  /**
   * Takes the key when it is new, expired and not held, or held by the same
   * request whose lock ran out (a crashed invocation); otherwise reports what
   * the key holds: a response to replay, a live request, or another request.
   */
  async begin(scope: IdempotencyScope, lockMs: number): Promise<BeginResult> {
    if (!Number.isInteger(lockMs) || lockMs < 1) throw new RangeError(`lockMs must be a positive integer, got ${lockMs}`);
    const holder = randomUUID();
    for (let attempt = 0; attempt < BEGIN_TRIES; attempt++) {
      const clock = this.clock();
      const [taken] = await this.sql<{ attempts: number }[]>`
        insert into idempotency_keys as k
          (owner_id, idempotency_key, route, request_hash, holder, status, locked_until, created_at, updated_at, expires_at)
        values (
          ${scope.ownerId}, ${scope.key}, ${scope.route}, ${scope.requestHash}, ${holder}::uuid, 'in_progress',
          ${clock} + ${lockMs}::double precision * interval '1 millisecond',
          ${clock}, ${clock},
          ${clock} + ${this.ttlMs}::double precision * interval '1 millisecond'
        )
        on conflict (owner_id, idempotency_key) do update set
          route = excluded.route,
          request_hash = excluded.request_hash,
          holder = excluded.holder,
          status = 'in_progress',
          locked_until = excluded.locked_until,
          response_status = null,
          response_body = null,
          response_headers = null,
          attempts = case when k.expires_at <= ${clock} then 1 else k.attempts + 1 end,
          created_at = case when k.expires_at <= ${clock} then excluded.created_at else k.created_at end,
          expires_at = case when k.expires_at <= ${clock} then excluded.expires_at else k.expires_at end,
          updated_at = excluded.updated_at
        where ${this.takeable(scope, clock)}
        returning k.attempts`;
      if (taken) return { kind: 'started', resumed: taken.attempts > 1, holder };

      const [existing] = await this.sql<ExistingRecord[]>`
        select request_hash as "requestHash", status, response_status as "responseStatus",
               response_body as "responseBody", response_headers as "responseHeaders"
        from idempotency_keys k
        where owner_id = ${scope.ownerId} and idempotency_key = ${scope.key} and not (${this.takeable(scope, this.clock())})`;
      if (existing) return classify(existing, scope.requestHash);
    }
    throw new Error(`Idempotency key record kept changing while starting a request (${scope.route})`);
  }

  /** Stores the final response; a no-op unless this request still holds the key (a later one may have taken it over). */
  async complete(scope: HeldKey, response: StoredResponse): Promise<void> {
    await this.sql`
      update idempotency_keys set
        status = 'completed',
        locked_until = null,
        response_status = ${response.status}::integer,
        response_body = ${response.body},
        response_headers = ${this.sql.json(response.headers)},
        updated_at = ${this.clock()}
      where ${this.heldBy(scope)}`;
  }

  /** Forgets an in-progress record after a retryable failure, so the same key may run again; a no-op unless this request still holds it. */
  async release(scope: HeldKey): Promise<void> {
    await this.sql`delete from idempotency_keys where ${this.heldBy(scope)}`;
  }

  /** Deletes up to `limit` expired keys that no live request holds, oldest first; returns how many. */
  async purgeExpired(limit: number): Promise<number> {
    const clock = this.clock();
    const purged = await this.sql`
      delete from idempotency_keys
      where (owner_id, idempotency_key) in (
        select owner_id, idempotency_key from idempotency_keys
        where expires_at <= ${clock} and (status = 'completed' or locked_until <= ${clock})
        order by expires_at
        limit ${limit}::integer
        for update skip locked
      )`;
    return purged.count;
  }

  private clock() {
    return sqlNow(this.sql, this.clockSource);
  }

  /**
   * Whether record `k` may be taken by this request: it expired and no live
   * request holds it, or this same request held it and its lock ran out.
   */
  private takeable(scope: IdempotencyScope, clock: ReturnType<IdempotencyStore['clock']>) {
    return this.sql`(
      (k.expires_at <= ${clock} and (k.status = 'completed' or k.locked_until <= ${clock}))
      or (k.status = 'in_progress' and k.locked_until <= ${clock} and k.request_hash = ${scope.requestHash})
    )`;
  }

  private heldBy(scope: HeldKey) {
    return this.sql`owner_id = ${scope.ownerId} and idempotency_key = ${scope.key}
      and status = 'in_progress' and request_hash = ${scope.requestHash} and holder = ${scope.holder}::uuid`;
  }
}

function classify(record: ExistingRecord, requestHash: string): BeginResult {
  if (record.requestHash !== requestHash) return { kind: 'mismatch' };
  if (record.status === 'in_progress') return { kind: 'in_progress' };
  return { kind: 'replay', response: { status: record.responseStatus, body: record.responseBody, headers: record.responseHeaders } };
}
