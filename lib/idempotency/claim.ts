import type { Query, Sql } from '../db/sql';
import type { HeldKey } from './store';

/**
 * A paying request's Idempotency-Key, taken by the request's first write
 * rather than by a statement of its own: the order repository runs the key's
 * statements (below) inside the statements that open an order or start a
 * payment, and inside the one that records the payment's outcome, which
 * stores the answer with it. The claim records what those statements did, so
 * the middleware knows whether there is still a key to store an answer for
 * or to release.
 */
export class KeyClaim {
  private status: 'untaken' | 'held' | 'answered' = 'untaken';

  constructor(
    /** The key as this request will hold it (its holder id is this request's). */
    readonly scope: HeldKey,
    /** How long the key stays locked to this request: past its deadline. */
    readonly lockMs: number,
    /** How long the key is remembered from the start of its request. */
    readonly ttlMs: number,
    private readonly takeAlone: (claim: KeyClaim) => Promise<boolean>,
  ) {}

  get isTaken(): boolean {
    return this.status !== 'untaken';
  }

  /** Taken, and no answer stored yet: the middleware stores the answer or releases the key. */
  get isHeld(): boolean {
    return this.status === 'held';
  }

  /** Takes the key in a statement of its own, unless a write took it already; KeyNotTakenError when it cannot be taken. */
  async take(): Promise<void> {
    if (this.isTaken) return;
    this.tookIt(await this.takeAlone(this));
  }

  /** What a statement that tried to take the key found: taken, or someone else's (KeyNotTakenError). */
  tookIt(taken: boolean): void {
    if (!taken) throw new KeyNotTakenError();
    this.status = 'held';
  }

  /** The statement that recorded the outcome stored the answer with it. */
  answered(): void {
    this.status = 'answered';
  }
}

/**
 * The key is held by another request, completed with an answer to replay, or
 * used for another request: the middleware reads the record and answers for it.
 */
export class KeyNotTakenError extends Error {
  constructor() {
    super('The Idempotency-Key could not be taken');
    this.name = 'KeyNotTakenError';
  }
}

/**
 * The statement that takes a key (returning a row when it did): it inserts the
 * record, or takes over one that expired with no live request on it, or one
 * this same request held whose lock ran out (a crashed invocation).
 */
export function takeKeyStatement(sql: Sql, claim: Pick<KeyClaim, 'scope' | 'lockMs' | 'ttlMs'>, now: Query): Query {
  const { scope, lockMs, ttlMs } = claim;
  return sql`
    insert into idempotency_keys as k
      (owner_id, idempotency_key, route, request_hash, holder, status, locked_until, created_at, updated_at, expires_at)
    values (
      ${scope.ownerId}, ${scope.key}, ${scope.route}, ${scope.requestHash}, ${scope.holder}::uuid, 'in_progress',
      ${now} + ${lockMs}::double precision * interval '1 millisecond',
      ${now}, ${now},
      ${now} + ${ttlMs}::double precision * interval '1 millisecond'
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
      answer_order = null,
      attempts = case when k.expires_at <= ${now} then 1 else k.attempts + 1 end,
      created_at = case when k.expires_at <= ${now} then excluded.created_at else k.created_at end,
      expires_at = case when k.expires_at <= ${now} then excluded.expires_at else k.expires_at end,
      updated_at = excluded.updated_at
    where ${keyTakeable(sql, scope.requestHash, now)}
    returning k.attempts`;
}

/**
 * Whether record `k` may be taken by a request with this hash: it expired and
 * no live request holds it, or this same request held it and its lock ran out.
 */
export function keyTakeable(sql: Sql, requestHash: string, now: Query): Query {
  return sql`(
    (k.expires_at <= ${now} and (k.status = 'completed' or k.locked_until <= ${now}))
    or (k.status = 'in_progress' and k.locked_until <= ${now} and k.request_hash = ${requestHash})
  )`;
}

/** Record `k` is still held by this request (a later one may have taken it over). */
export function keyHeldBy(sql: Sql, scope: HeldKey): Query {
  return sql`k.owner_id = ${scope.ownerId} and k.idempotency_key = ${scope.key}
    and k.status = 'in_progress' and k.request_hash = ${scope.requestHash} and k.holder = ${scope.holder}::uuid`;
}

/**
 * The statement that completes a held key with an order as its answer: `answer`
 * is the jsonb of the order (nothing is stored when it is null).
 */
export function storeOrderAnswerStatement(sql: Sql, scope: HeldKey, answer: Query, now: Query): Query {
  return sql`
    update idempotency_keys k set status = 'completed', locked_until = null, answer_order = ${answer}, updated_at = ${now}
    where ${keyHeldBy(sql, scope)} and ${answer} is not null
    returning 1`;
}
