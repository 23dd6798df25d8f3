import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdempotencyStore, type HeldKey, type IdempotencyScope, type StoredResponse } from '../../lib/idempotency/store';
import { drivers, suiteClients } from '../support/drivers';

const HOUR_MS = 3_600_000;
const LOCK_MS = 30_000;
const TINY_MS = 50;
const ROUTE = 'POST /baskets/{basketId}/orders';
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

const created: StoredResponse = {
  status: 201,
  body: '{"order":{"id":"o-1","total":1440},"payment":{"status":"captured"}}',
  headers: { 'content-type': 'application/json', location: '/orders/o-1' },
};

function scope(requestHash = HASH_A, ownerId = `owner-${randomUUID()}`): IdempotencyScope {
  return { ownerId, key: randomUUID(), route: ROUTE, requestHash };
}

const started = (resumed: boolean) => ({ kind: 'started', resumed, holder: expect.any(String) });

describe.each(drivers)('Idempotency-Key store against a real Postgres ($name)', (driver) => {
  const { sql, admin } = suiteClients(driver, { max: 20 });
  const store = new IdempotencyStore(sql, { ttlMs: HOUR_MS });

  /** Takes the key for `scope`, as a request does; the answer names the request holding it. */
  async function take(scope: IdempotencyScope, lockMs = LOCK_MS, on = store): Promise<HeldKey> {
    const begun = await on.begin(scope, lockMs);
    if (begun.kind !== 'started') throw new Error(`expected to take the key, got ${begun.kind}`);
    return { ...scope, holder: begun.holder };
  }

  /** Takes the key for `scope` with a lock that then runs out, as a request that died holding it. */
  async function diedHolding(scope: IdempotencyScope): Promise<HeldKey> {
    const held = await take(scope, TINY_MS);
    await sleep(TINY_MS * 2);
    return held;
  }

  it('lets the first request with a key start', async () => {
    const result = await store.begin(scope(), LOCK_MS);

    expect(result).toEqual(started(false));
  });

  it('replays the first response, byte for byte, for the same key and request', async () => {
    const first = scope();
    await store.complete(await take(first), created);

    const result = await store.begin({ ...first }, LOCK_MS);

    expect(result).toEqual({ kind: 'replay', response: created });
  });

  it('refuses the same key with another request, once completed and while running', async () => {
    const completed = scope(HASH_A);
    await store.complete(await take(completed), created);
    const running = scope(HASH_A);
    await store.begin(running, LOCK_MS);

    expect(await store.begin({ ...completed, requestHash: HASH_B }, LOCK_MS)).toEqual({ kind: 'mismatch' });
    expect(await store.begin({ ...running, requestHash: HASH_B }, LOCK_MS)).toEqual({ kind: 'mismatch' });
  });

  it('reports a repeated request as in progress while the first still holds the key', async () => {
    const first = scope();
    await store.begin(first, LOCK_MS);

    const result = await store.begin(first, LOCK_MS);

    expect(result).toEqual({ kind: 'in_progress' });
  });

  it('lets the same request take over a key whose holder died, and says it resumed', async () => {
    const crashed = scope();
    await diedHolding(crashed);

    const result = await store.begin(crashed, LOCK_MS);

    expect(result).toEqual(started(true));
    expect(await store.begin(crashed, LOCK_MS)).toEqual({ kind: 'in_progress' });
  });

  it('does not let another request take over a key whose holder died', async () => {
    const crashed = scope(HASH_A);
    await diedHolding(crashed);

    const result = await store.begin({ ...crashed, requestHash: HASH_B }, LOCK_MS);

    expect(result).toEqual({ kind: 'mismatch' });
  });

  it('lets the key run again from scratch after a release', async () => {
    const failed = scope();
    await store.release(await take(failed));

    const result = await store.begin(failed, LOCK_MS);

    expect(result).toEqual(started(false));
  });

  it('completes and releases only a key still in progress for the same request', async () => {
    const first = await take(scope(HASH_A));
    await store.complete(first, created);

    await store.complete({ ...first, requestHash: HASH_B }, { ...created, status: 200 });
    await store.complete(first, { ...created, status: 200 });
    await store.release(first);

    expect(await store.begin(first, LOCK_MS)).toEqual({ kind: 'replay', response: created });
  });

  it('lets only the request now holding a key complete or release it, not one it was taken over from', async () => {
    const same = scope();
    const crashed = await diedHolding(same);
    const takeover = await take(same);

    await store.release(crashed);
    await store.complete(crashed, { ...created, status: 200 });
    expect(await store.begin(same, LOCK_MS)).toEqual({ kind: 'in_progress' });

    await store.complete(takeover, created);
    expect(await store.begin(same, LOCK_MS)).toEqual({ kind: 'replay', response: created });
  });

  it('treats an expired key as new, for any request', async () => {
    const shortLived = new IdempotencyStore(sql, { ttlMs: TINY_MS });
    const old = scope(HASH_A);
    await shortLived.complete(await take(old, LOCK_MS, shortLived), created);
    await sleep(TINY_MS * 2);

    const result = await store.begin({ ...old, requestHash: HASH_B }, LOCK_MS);

    expect(result).toEqual(started(false));
    expect(await store.begin(old, LOCK_MS)).toEqual({ kind: 'mismatch' });
  });

  it('keeps an expired key for the request still running on it', async () => {
    const shortLived = new IdempotencyStore(sql, { ttlMs: TINY_MS });
    const running = scope(HASH_A);
    await shortLived.begin(running, LOCK_MS);
    await sleep(TINY_MS * 2);

    const result = await store.begin({ ...running, requestHash: HASH_B }, LOCK_MS);

    expect(result).toEqual({ kind: 'mismatch' });
  });

  it('compares against the given clock instead of the database time when one is set', async () => {
    const running = scope();
    await store.begin(running, LOCK_MS);
    const aMinuteLater = new IdempotencyStore(sql, {
      ttlMs: HOUR_MS,
      clock: { now: () => Date.now() + 60_000, sleep: async () => undefined },
    });

    const result = await aMinuteLater.begin(running, LOCK_MS);

    expect(result).toEqual(started(true));
  });

  it('lets exactly one of 20 concurrent requests with the same key start', async () => {
    const same = scope();

    const results = await Promise.all(Array.from({ length: 20 }, () => store.begin({ ...same }, LOCK_MS)));

    expect(results.filter((r) => r.kind === 'started')).toEqual([started(false)]);
    expect(results.filter((r) => r.kind === 'in_progress')).toHaveLength(19);
  });

  it('lets exactly one of 20 concurrent requests take over a key whose holder died', async () => {
    const crashed = scope();
    await diedHolding(crashed);

    const results = await Promise.all(Array.from({ length: 20 }, () => store.begin({ ...crashed }, LOCK_MS)));

    expect(results.filter((r) => r.kind === 'started')).toEqual([started(true)]);
    expect(results.filter((r) => r.kind === 'in_progress')).toHaveLength(19);
  });

  it('purges only expired keys that no live request holds, at most `limit` at a time', async () => {
    const shortLived = new IdempotencyStore(sql, { ttlMs: TINY_MS });
    const ownerId = `owner-${randomUUID()}`;
    const expired = [scope(HASH_A, ownerId), scope(HASH_A, ownerId), scope(HASH_A, ownerId)];
    const held = [];
    for (const s of expired) held.push(await take(s, TINY_MS, shortLived));
    await shortLived.complete(held[0], created);
    const expiredButRunning = scope(HASH_A, ownerId);
    await shortLived.begin(expiredButRunning, LOCK_MS);
    const live = scope(HASH_A, ownerId);
    await store.begin(live, LOCK_MS);
    await sleep(TINY_MS * 2);

    expect(await store.purgeExpired(2)).toBe(2);
    await store.purgeExpired(1000);

    const remaining = await admin<{ key: string }[]>`select idempotency_key as key from idempotency_keys where owner_id = ${ownerId}`;
    expect(remaining.map((r) => r.key).sort()).toEqual([expiredButRunning.key, live.key].sort());
  });
});
