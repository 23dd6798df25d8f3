import { parseSealingKeys, TokenVault } from '../../lib/credentials';
import { randomUUID } from 'node:crypto';
import { PostgresBasketRepository } from '../../lib/baskets/postgres-repository';
import { parseConfig } from '../../lib/config';
import { connect, type Sql } from '../../lib/db/sql';
import { Deadline } from '../../lib/deadline';
import type { Logger } from '../../lib/logger';
import type { Order } from '../../lib/orders/order';
import type { ReconcileReport } from '../../lib/orders/reconciler';
import type { OrderState } from '../../lib/orders/state-machine';
import { createServices } from '../../lib/services';
import type { CallOptions } from '../../lib/upstream/client';
import { simulator, tokenFor, uniqueUser } from '../support/http';
import { ledgerProblems, NO_MONEY_PROBLEMS } from '../support/ledger';

const PIZZAS = { productId: 'pizza', productName: 'Pizza', quantity: 2, netUnitMinor: 1200, vatBasisPoints: 2000 }; // 28.80 gross
const TOTAL_MINOR = 2880;

/**
 * Thresholds of these reconcilers: an order is stale after a minute. Orders
 * arranged as stale are 90 s old, which the serverless reconciler (120 s,
 * the default) leaves alone, so only the runs of this file settle them.
 */
const ABANDONED_AFTER_MS = 60_000;
const STALE_MS = 90_000;
/** One attempt and one retry per upstream call: a fault scripted twice fails a call for certain. */
const UPSTREAM_MAX_ATTEMPTS = 2;

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };

/** One Lambda container's worth of services, from the same factory the handlers use. */
function container(batchSize = 200, tokenKeys?: string) {
  const sql = connect(process.env.DATABASE_URL!, { max: 4 });
  const config = parseConfig({
    ...process.env,
    UPSTREAM_BASE_URL: process.env.TEST_SIMULATOR_URL,
    UPSTREAM_CALL_TIMEOUT_MS: '1500',
    UPSTREAM_MAX_ATTEMPTS: String(UPSTREAM_MAX_ATTEMPTS),
    UPSTREAM_BACKOFF_BASE_MS: '10',
    UPSTREAM_BACKOFF_CAP_MS: '50',
    BREAKER_FAILURE_THRESHOLD: '1000',
    BREAKER_HALF_OPEN_AFTER_MS: '1000',
    REQUEST_DEADLINE_MS: '6000',
    PAYMENT_TIMEOUT_MS: '1500',
    PAYMENT_MIN_WINDOW_MS: '1500',
    ORDER_ABANDONED_AFTER_SECONDS: String(ABANDONED_AFTER_MS / 1000),
    ORDER_DECLINED_EXPIRY_MINUTES: String(ABANDONED_AFTER_MS / 60_000),
    RECONCILER_BATCH_SIZE: String(batchSize),
    ...(tokenKeys ? { TOKEN_ENCRYPTION_KEYS: tokenKeys } : {}),
  });
  const services = createServices(config, sql);
  return { ...services, sql, close: async () => Promise.all([services.close(), sql.end()]) };
}

type Container = ReturnType<typeof container>;

interface Arranged {
  user: string;
  order: Order;
}

describe('Reconciler, run in-process against Postgres and the simulator', () => {
  let services: Container;
  let sql: Sql;
  const extraContainers: Container[] = [];

  beforeAll(() => {
    services = container();
    sql = services.sql;
  });
  afterAll(async () => {
    await Promise.all([services, ...extraContainers].map((c) => c.close()));
  });

  async function callFor(user: string): Promise<CallOptions> {
    return { token: await tokenFor(user), deadline: Deadline.fromNow(6000), log: quiet };
  }

  /**
   * An order brought to `state` the way checkout gets there (upstream calls
   * included), its last change `ageMs` ago. `upstream: false` leaves a pending
   * order that was never created upstream.
   */
  async function arrange(state: OrderState, options: { ageMs?: number; user?: string; upstream?: boolean } = {}): Promise<Arranged> {
    const user = options.user ?? uniqueUser('reconcile');
    const call = await callFor(user);
    const { orders, api, vault } = services;
    const basketId = randomUUID();
    await new PostgresBasketRepository(sql).create(user, basketId);
    const { version } = await new PostgresBasketRepository(sql).putLine(user, basketId, PIZZAS);
    const orderId = randomUUID();
    let order = (await orders.open({
      ownerId: user,
      basketId,
      orderId,
      idempotencyKey: randomUUID(),
      expectedBasketVersion: version,
      ownerTokenSealed: vault.seal(call.token, orderId),
    }))!;
    let upstreamOrderId: string = orderId;
    if (options.upstream !== false) {
      const created = await api.createOrder({ orderId: order.id, correlation: order.id, totalMinor: TOTAL_MINOR }, call);
      if (created.kind !== 'created') throw new Error(`arranging an order: create ${created.kind}`);
      upstreamOrderId = created.order.id;
    }
    if (state !== 'pending') order = (await orders.transition(order.id, ['pending'], 'placed', { upstreamOrderId }))!;
    if (['paying', 'paid', 'declined', 'refunding'].includes(state)) {
      const started = (await orders.startPayment(order.id, randomUUID(), vault.seal(call.token, orderId)))!;
      const { attempt } = started;
      order = started.order;
      if (state === 'declined') {
        await simulator.queueFault({ method: 'POST', path: '/payments/', kind: 'decline', user });
        expect(await api.createPayment({ upstreamOrderId, amountMinor: TOTAL_MINOR }, call)).toEqual({ kind: 'declined' });
        order = (await orders.finishPayment(attempt, 'declined', null, 'PAYMENT_DECLINED'))!;
      } else if (state !== 'paying') {
        const paid = await api.createPayment({ upstreamOrderId, amountMinor: TOTAL_MINOR }, call);
        if (paid.kind !== 'accepted' || paid.payment.status !== 'completed')
          throw new Error(`arranging a paid order: payment ${paid.kind}`);
        order = (await orders.finishPayment(attempt, 'completed', paid.payment.id))!;
      }
    }
    if (state === 'refunding') {
      await api.setOrderStatus(upstreamOrderId, 'completed', call);
      await orders.completeAndCloseBasket(order.id);
      order = (await orders.transition(order.id, ['completed'], 'refunding', { ownerTokenSealed: vault.seal(call.token, orderId) }))!;
    }
    expect(order.state).toBe(state);
    if (options.ageMs) {
      await sql`update orders set updated_at = now() - ${options.ageMs}::double precision * interval '1 millisecond' where id = ${order.id}`;
      await sql`update payment_attempts set created_at = now() - ${options.ageMs}::double precision * interval '1 millisecond' where order_id = ${order.id}`;
    }
    return { user, order: (await orders.findById(order.id))! };
  }

  async function rowOf(orderId: string) {
    const [row] = await sql<
      { state: OrderState; updated_at: Date; lease_until: Date | null; reconcile_attempts: number; last_error: string | null }[]
    >`
      select state, updated_at, lease_until, reconcile_attempts, last_error from orders where id = ${orderId}`;
    return row;
  }

  async function basketStatus(order: Order): Promise<string> {
    const [row] = await sql<{ status: string }[]>`select status from baskets where id = ${order.basketId}`;
    return row.status;
  }

  async function upstreamOf(user: string, orderId: string) {
    const ledger = await simulator.ledger(user);
    return {
      order: ledger.orders.find((o) => o.id === orderId),
      patches: ledger.calls.filter((c) => c.method === 'PATCH' && c.path === `/orders/${orderId}`),
      calls: ledger.calls.length,
      payments: ledger.payments.filter((p) => p.order_id === orderId),
      refunds: ledger.refunds.filter((r) => r.order_id === orderId),
      problems: await ledgerProblems(ledger, sql),
    };
  }

  const NO_PROBLEMS = NO_MONEY_PROBLEMS;

  it('completes a paid order upstream and closes its basket', async () => {
    const { user, order } = await arrange('paid');

    await services.reconciler.run(quiet);

    expect((await rowOf(order.id)).state).toBe('completed');
    expect(await basketStatus(order)).toBe('closed');
    const upstream = await upstreamOf(user, order.id);
    expect(upstream.order?.status).toBe('completed');
    expect(upstream.patches.map((p) => p.status)).toEqual([200]);
    expect(upstream.payments.map((p) => p.status)).toEqual(['completed']);
    expect(upstream.problems).toEqual(NO_PROBLEMS);
  });

  it.each([
    { state: 'pending' as OrderState, upstream: false, upstreamStatus: undefined },
    { state: 'pending' as OrderState, upstream: true, upstreamStatus: 'failed' },
    { state: 'placed' as OrderState, upstream: true, upstreamStatus: 'failed' },
    { state: 'declined' as OrderState, upstream: true, upstreamStatus: 'failed' },
  ])(
    'fails a stale $state order (upstream: $upstream) upstream and here, and reopens its basket',
    async ({ state, upstream: createdUpstream, upstreamStatus }) => {
      const { user, order } = await arrange(state, { ageMs: STALE_MS, upstream: createdUpstream });

      await services.reconciler.run(quiet);

      expect(await rowOf(order.id)).toMatchObject({
        state: 'failed',
        last_error: `ABANDONED: never paid (was ${state})`,
        lease_until: null,
      });
      expect(await basketStatus(order)).toBe('open');
      const upstream = await upstreamOf(user, order.id);
      // GET /orders/ finds what to fail; a checkout never created upstream has nothing to PATCH.
      expect(upstream.patches.map((p) => p.status)).toEqual(createdUpstream ? [200] : []);
      expect(upstream.order?.status).toBe(upstreamStatus);
      expect(upstream.payments.filter((p) => p.status === 'completed')).toEqual([]);
    },
  );

  it('turns a stale paying order unknown without asking the upstream anything, and keeps the basket locked', async () => {
    const { user, order } = await arrange('paying', { ageMs: STALE_MS });
    const callsBefore = (await upstreamOf(user, order.id)).calls;

    await services.reconciler.run(quiet);

    expect(await rowOf(order.id)).toMatchObject({ state: 'unknown', last_error: expect.stringMatching(/^PAYMENT_STATUS_UNKNOWN/) });
    const attempts = await sql<{ outcome: string }[]>`select outcome from payment_attempts where order_id = ${order.id}`;
    expect(attempts.map((a) => a.outcome)).toEqual(['unknown']);
    expect(await basketStatus(order)).toBe('locked');
    expect((await upstreamOf(user, order.id)).calls).toBe(callsBefore);
  });

  describe('sealing-key rotation', () => {
    const keyOf = (id: string, fill: number) => `${id}:${Buffer.alloc(32, fill).toString('base64')}`;
    const oldKey = keyOf(`old${Date.now() % 100000}`, 7);
    const newKey = keyOf(`new${Date.now() % 100000}`, 8);
    const sealWith = (keys: string, token: string, orderId: string) => new TokenVault(parseSealingKeys(keys)).seal(token, orderId);

    it('re-seals under the newest key the owner tokens an older key sealed, unknown orders included, and reports what each key still seals', async () => {
      const rotated = container(200, `${newKey},${oldKey}`);
      extraContainers.push(rotated);
      const { user, order } = await arrange('placed');
      await sql`update orders set state = 'unknown' where id = ${order.id}`;
      const token = (await callFor(user)).token;
      await sql`update orders set owner_token_sealed = ${sealWith(oldKey, token, order.id)} where id = ${order.id}`;

      const report = await rotated.reconciler.run(quiet);

      const [row] = await sql<{ owner_token_sealed: string }[]>`select owner_token_sealed from orders where id = ${order.id}`;
      expect(TokenVault.keyIdOf(row.owner_token_sealed)).toBe(newKey.split(':')[0]);
      expect(rotated.vault.open(row.owner_token_sealed, order.id)).toBe(token);
      expect(report.resealed).toBeGreaterThanOrEqual(1);
      expect(report.sealedTokensByKey).not.toHaveProperty(oldKey.split(':')[0]);
      expect(report.sealedTokensByKey![newKey.split(':')[0]]).toBeGreaterThanOrEqual(1);
    });

    it('counts an order whose token no configured key opens as without credentials, never as an error, and leaves it for a person', async () => {
      const { order } = await arrange('paying', { ageMs: STALE_MS });
      await sql`update orders set owner_token_sealed = ${sealWith(keyOf('retired', 3), 'some-token', order.id)} where id = ${order.id}`;

      const report = await services.reconciler.run(quiet);

      expect(report.withoutCredentials).toBeGreaterThanOrEqual(1);
      expect(await rowOf(order.id)).toMatchObject({ state: 'paying' });
    });
  });

  it('finishes a refund left in refunding', async () => {
    const { user, order } = await arrange('refunding');

    await services.reconciler.run(quiet);

    expect((await rowOf(order.id)).state).toBe('refunded');
    const upstream = await upstreamOf(user, order.id);
    expect(upstream.payments.map((p) => ({ id: p.id, status: p.status }))).toEqual([{ id: order.paymentId, status: 'refunded' }]);
    expect(upstream.refunds).toHaveLength(1);
    expect(upstream.problems).toEqual(NO_PROBLEMS);
  });

  it('checks the duplicates of an order claimed for that alone, without settling it before its own time', async () => {
    const user = uniqueUser('reconcile-duplicate-check');
    const declined = await arrange('declined', { user, ageMs: 20_000 }); // not expired yet
    const paying = await arrange('paying', { user });
    for (const { order } of [declined, paying])
      await sql`update orders set duplicate_check_at = now() - interval '1 second' where id = ${order.id}`;

    await services.reconciler.run(quiet);

    expect(await rowOf(declined.order.id)).toMatchObject({ state: 'declined' });
    expect(await rowOf(paying.order.id)).toMatchObject({ state: 'paying' });
    const [{ checks }] = await sql<
      { checks: number }[]
    >`select count(duplicate_check_at)::int as checks from orders where id in ${sql([declined.order.id, paying.order.id])}`;
    expect(checks).toBe(0);
    const attempts = await sql<{ outcome: string }[]>`select outcome from payment_attempts where order_id = ${paying.order.id}`;
    expect(attempts.map((a) => a.outcome)).toEqual(['sending']);
  });

  it('leaves orders alone that are not stale yet', async () => {
    const user = uniqueUser('reconcile-fresh');
    const arranged = [
      await arrange('pending', { user }),
      await arrange('placed', { user }),
      await arrange('paying', { user }),
      await arrange('declined', { user }),
      await arrange('placed', { user, ageMs: ABANDONED_AFTER_MS - 20_000 }),
      await arrange('declined', { user, ageMs: ABANDONED_AFTER_MS - 20_000 }),
    ];
    const before = await Promise.all(arranged.map(({ order }) => rowOf(order.id)));
    const callsBefore = (await simulator.ledger(user)).calls.length;

    await services.reconciler.run(quiet);

    expect(await Promise.all(arranged.map(({ order }) => rowOf(order.id)))).toEqual(before);
    expect(before.map((row) => row.reconcile_attempts)).toEqual(Array(arranged.length).fill(0));
    expect((await simulator.ledger(user)).calls.length).toBe(callsBefore);
  });

  it('while the upstream is down, keeps the order claimed as failing (never payable again), releases its lease and reports an error; the next run settles it', async () => {
    const { user, order } = await arrange('placed', { ageMs: STALE_MS });
    await simulator.queueFault({ method: 'PATCH', path: `/orders/${order.id}`, kind: '503', times: UPSTREAM_MAX_ATTEMPTS, user });

    const down: ReconcileReport = await services.reconciler.run(quiet);

    expect(down.errors).toBeGreaterThanOrEqual(1);
    expect(await rowOf(order.id)).toMatchObject({ state: 'failing', lease_until: null, last_error: 'ABANDONED: never paid (was placed)' });
    expect(await services.orders.startPayment(order.id, randomUUID(), 'v1.test.sealed')).toBeUndefined();
    expect(await basketStatus(order)).toBe('locked');
    const refused = await upstreamOf(user, order.id);
    expect(refused.patches.map((p) => p.status)).toEqual(Array(UPSTREAM_MAX_ATTEMPTS).fill(503));
    expect(refused.order?.status).toBe('pending');

    await services.reconciler.run(quiet);

    expect((await rowOf(order.id)).state).toBe('failed');
    expect(await basketStatus(order)).toBe('open');
    const settled = await upstreamOf(user, order.id);
    expect(settled.order?.status).toBe('failed');
    expect(settled.patches.map((p) => p.status)).toEqual([...Array(UPSTREAM_MAX_ATTEMPTS).fill(503), 200]);
  });

  it('settles each order exactly once when two reconcilers in two containers run at the same time', async () => {
    const user = uniqueUser('reconcile-race');
    // One at a time: a scripted decline belongs to the user, not to an order. Paid orders are claimable
    // at any age; aged like the others, they sort as early in a claim.
    const arranged: Arranged[] = [];
    for (const state of ['paid', 'paid', 'paid', 'paid', 'placed', 'placed', 'placed', 'placed', 'declined', 'declined'] as OrderState[]) {
      arranged.push(await arrange(state, { user, ageMs: STALE_MS }));
    }
    const mine = arranged.map(({ order }) => order.id);
    const racers = [container(3), container(3)];
    extraContainers.push(...racers);
    const unsettled = async () =>
      (
        await sql<
          { n: number }[]
        >`select count(*)::int as n from orders where id in ${sql(mine)} and state in ('paid', 'placed', 'declined')`
      )[0].n;

    // Small batches, run repeatedly, so the two runs claim from the same rows at the same time (as many runs as it
    // takes: other test files leave orders of their own due in this database, and the longest due go first).
    await Promise.all(
      racers.map(async ({ reconciler }) => {
        for (let run = 0; run < 100 && (await unsettled()) > 0; run++) await reconciler.run(quiet);
      }),
    );

    const rows = await sql<
      { id: string; state: OrderState; reconcile_attempts: number }[]
    >`select id, state, reconcile_attempts from orders where id in ${sql(mine)}`;
    const expectedState = new Map(arranged.map(({ order }) => [order.id, order.state === 'paid' ? 'completed' : 'failed']));
    expect(rows.map((r) => ({ id: r.id, state: r.state, claims: r.reconcile_attempts })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      mine.map((id) => ({ id, state: expectedState.get(id), claims: 1 })).sort((a, b) => a.id.localeCompare(b.id)),
    );
    const ledger = await simulator.ledger(user);
    const patchesPerOrder = mine.map((id) => ledger.calls.filter((c) => c.method === 'PATCH' && c.path === `/orders/${id}`).length);
    expect(patchesPerOrder).toEqual(Array(mine.length).fill(1));
    expect(ledger.orders.map((o) => o.status).sort()).toEqual([...Array(4).fill('completed'), ...Array(6).fill('failed')]);
    expect(await ledgerProblems(ledger, sql)).toEqual(NO_PROBLEMS);
  });
});
