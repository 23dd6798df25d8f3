import { randomUUID } from 'node:crypto';
import type { Sql } from '../../lib/db/sql';
import { AppError } from '../../lib/errors';
import { runIdempotent, type IdempotentRequest } from '../../lib/idempotency/run';
import { IdempotencyStore } from '../../lib/idempotency/store';
import { drivers } from '../support/drivers';

describe.each(drivers)('running a request under an Idempotency-Key (real Postgres, $name)', (driver) => {
  let sql: Sql;
  let store: IdempotencyStore;

  beforeAll(() => {
    sql = driver.connect({ max: 4 });
    store = new IdempotencyStore(sql, { ttlMs: 3_600_000 });
  });
  afterAll(() => sql.end());

  const request = (overrides: Partial<IdempotentRequest> = {}): IdempotentRequest => ({
    ownerId: `owner-${randomUUID()}`,
    key: randomUUID(),
    method: 'POST',
    route: 'POST /baskets/{basketId}/orders',
    params: { basketId: 'b1' },
    body: null,
    lockMs: 10_000,
    ...overrides,
  });

  it('runs the work once and replays its answer byte for byte', async () => {
    const req = request();
    let runs = 0;
    const work = async () => ({ status: 201, body: { id: 'o1', total: 2880 }, headers: { location: '/orders/o1', 'x-other': 'dropped' } });

    const first = await runIdempotent(store, req, async () => (runs++, work()));
    const second = await runIdempotent(store, req, async () => (runs++, work()));

    expect(runs).toBe(1);
    expect(second.status).toBe(201);
    expect(second.rawBody).toBe(first.rawBody);
    expect(second.headers).toEqual({ location: '/orders/o1', 'idempotent-replayed': 'true' });
  });

  it('stores a final error (402) and replays it without running again', async () => {
    const req = request();
    const decline = () => Promise.reject(new AppError('PAYMENT_DECLINED', 'declined', { extra: { orderId: 'o2' } }));

    await expect(runIdempotent(store, req, decline)).rejects.toMatchObject({ code: 'PAYMENT_DECLINED' });
    const replay = await runIdempotent(store, req, () => Promise.reject(new Error('must not run')));

    expect(replay.status).toBe(402);
    expect(JSON.parse(replay.rawBody!)).toEqual({ error: { code: 'PAYMENT_DECLINED', message: 'declined', orderId: 'o2' } });
  });

  it('releases the key after an answer with Retry-After, or an unexpected error, so the same key runs again', async () => {
    const req = request();
    await expect(
      runIdempotent(store, req, () => Promise.reject(new AppError('UPSTREAM_UNAVAILABLE', 'down', { retryAfterSeconds: 5 }))),
    ).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    await expect(runIdempotent(store, req, () => Promise.reject(new Error('bug')))).rejects.toThrow('bug');

    const third = await runIdempotent(store, req, async () => ({ status: 201, body: { ok: true } }));

    expect(third.status).toBe(201);
  });

  it('refuses the same key for another request, and a key whose request still runs', async () => {
    const req = request();
    let release!: () => void;
    const running = runIdempotent(store, req, () => new Promise((resolve) => (release = () => resolve({ status: 201, body: {} }))));
    await new Promise((resolve) => setTimeout(resolve, 50));

    await expect(runIdempotent(store, req, async () => ({ status: 201 }))).rejects.toMatchObject({ code: 'REQUEST_IN_PROGRESS' });
    await expect(runIdempotent(store, { ...req, params: { basketId: 'b2' } }, async () => ({ status: 201 }))).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
    release();
    await running;
  });
});
