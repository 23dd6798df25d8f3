import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import { sqlNow } from '../db/now';
import type { Sql } from '../db/sql';
import { keyHeldBy, keyTakeable, takeKeyStatement, type KeyClaim } from './claim';

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

/** An answer stored with the order it was given from (the order's row as the outcome left it), rendered again on replay. */
export interface StoredOrderAnswer {
  answerOrder: Record<string, unknown>;
}

/** A key as held by one request: only that request completes or releases it. */
export interface HeldKey extends IdempotencyScope {
  holder: string;
}

export type BeginResult =
  /** The caller owns the key now, as `holder`; `resumed`: a previous holder's in-progress lock had expired. */
  | { kind: 'started'; resumed: boolean; holder: string }
  | { kind: 'replay'; response: StoredResponse | StoredOrderAnswer }
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
  | { status: 'in_progress' }
  | { status: 'completed'; answerOrder: null; responseStatus: number; responseBody: string; responseHeaders: Record<string, string> }
  | { status: 'completed'; answerOrder: Record<string, unknown> }
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
  /** How long a key is remembered from the start of its request. */
  readonly ttlMs: number;
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
    const claim = { scope: { ...scope, holder: randomUUID() }, lockMs, ttlMs: this.ttlMs };
    for (let attempt = 0; attempt < BEGIN_TRIES; attempt++) {
      const [taken] = await this.sql<{ attempts: number }[]>`${takeKeyStatement(this.sql, claim, this.clock())}`;
      if (taken) return { kind: 'started', resumed: taken.attempts > 1, holder: claim.scope.holder };
      const found = await this.inspect(scope);
      if (found) return found;
    }
    throw new Error(`Idempotency key record kept changing while starting a request (${scope.route})`);
  }

  /** Takes a claimed key (lib/idempotency/claim.ts) with a statement of its own; false when it cannot be taken now. */
  async takeKey(claim: Pick<KeyClaim, 'scope' | 'lockMs' | 'ttlMs'>): Promise<boolean> {
    const [taken] = await this.sql`${takeKeyStatement(this.sql, claim, this.clock())}`;
    return taken !== undefined;
  }

  /**
   * What the key holds for a request that could not take it: an answer to replay, a live
   * request, or another request; undefined when it could be taken now (released or expired
   * in between).
   */
  async inspect(scope: IdempotencyScope): Promise<Exclude<BeginResult, { kind: 'started' }> | undefined> {
    const [existing] = await this.sql<ExistingRecord[]>`
      select request_hash as "requestHash", status, response_status as "responseStatus",
             response_body as "responseBody", response_headers as "responseHeaders", answer_order as "answerOrder"
      from idempotency_keys k
      where owner_id = ${scope.ownerId} and idempotency_key = ${scope.key} and not ${keyTakeable(this.sql, scope.requestHash, this.clock())}`;
    return existing && classify(existing, scope.requestHash);
  }

  /** Stores the final response; a no-op unless this request still holds the key (a later one may have taken it over). */
  async complete(scope: HeldKey, response: StoredResponse): Promise<void> {
    await this.sql`
      update idempotency_keys k set
        status = 'completed',
        locked_until = null,
        response_status = ${response.status}::integer,
        response_body = ${response.body},
        response_headers = ${this.sql.json(response.headers)},
        updated_at = ${this.clock()}
      where ${keyHeldBy(this.sql, scope)}`;
  }

  /** Forgets an in-progress record after a retryable failure, so the same key may run again; a no-op unless this request still holds it. */
  async release(scope: HeldKey): Promise<void> {
    await this.sql`delete from idempotency_keys k where ${keyHeldBy(this.sql, scope)}`;
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
}

function classify(record: ExistingRecord, requestHash: string): Exclude<BeginResult, { kind: 'started' }> {
  if (record.requestHash !== requestHash) return { kind: 'mismatch' };
  if (record.status === 'in_progress') return { kind: 'in_progress' };
  if (record.answerOrder) return { kind: 'replay', response: { answerOrder: record.answerOrder } };
  return { kind: 'replay', response: { status: record.responseStatus, body: record.responseBody, headers: record.responseHeaders } };
}
