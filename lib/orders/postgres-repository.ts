import { basketWriteRefusal, priceBasket, type BasketStatus } from '../baskets/basket';
import type { Sql } from '../db/sql';
import { AppError } from '../errors';
import type { Order, PaymentOutcome } from './order';
import type { HealthThresholds, OpenOrderRequest, OrderRepository, PaymentAttempt, ReconcileClaim, RefundAttempt, StateHealth, TransitionChanges } from './repository';
import { assertTransitions, AT_REST_STATES, PAYABLE_STATES, STATES_ABANDONED_WHEN_IDLE, STATES_SETTLED_AT_ONCE, UNSETTLED_STATES, type OrderState } from './state-machine';

interface OrderRow {
  id: string;
  owner_id: string;
  basket_id: string;
  state: OrderState;
  total_minor: number;
  opened_by_key: string;
  upstream_order_id: string | null;
  payment_id: string | null;
  payment_attempts: number;
  last_error: string | null;
  owner_token_sealed: string | null;
  duplicate_check_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const ORDER_COLUMNS =
  'id, owner_id, basket_id, state, total_minor, opened_by_key, upstream_order_id, payment_id, payment_attempts, last_error, owner_token_sealed, duplicate_check_at, created_at, updated_at';

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    ownerId: row.owner_id,
    basketId: row.basket_id,
    state: row.state,
    totalMinor: row.total_minor,
    openedByKey: row.opened_by_key,
    upstreamOrderId: row.upstream_order_id,
    paymentId: row.payment_id,
    paymentAttempts: row.payment_attempts,
    lastError: row.last_error,
    ownerTokenSealed: row.owner_token_sealed,
    duplicateCheckAt: row.duplicate_check_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

interface PaymentAttemptRow {
  id: string;
  order_id: string;
  amount_minor: number;
  upstream_payment_id: string | null;
}

const toPaymentAttempt = (row: PaymentAttemptRow): PaymentAttempt => ({
  id: row.id,
  orderId: row.order_id,
  amountMinor: row.amount_minor,
  upstreamPaymentId: row.upstream_payment_id,
});

interface RefundAttemptRow {
  id: string;
  order_id: string;
  payment_id: string;
  outcome: RefundAttempt['outcome'];
  updated_at: Date;
}

const toRefundAttempt = (row: RefundAttemptRow): RefundAttempt => ({
  id: row.id,
  orderId: row.order_id,
  paymentId: row.payment_id,
  outcome: row.outcome,
  updatedAt: row.updated_at,
});

const STATE_AFTER_PAYMENT: Record<PaymentOutcome, OrderState> = {
  completed: 'paid',
  declined: 'declined',
  no_charge: 'placed',
  unknown: 'unknown',
};

const isAtRest = (state: OrderState) => AT_REST_STATES.includes(state);

export class PostgresOrderRepository implements OrderRepository {
  constructor(private readonly sql: Sql) {}

  async open(request: OpenOrderRequest): Promise<Order> {
    const { ownerId, basketId, orderId, idempotencyKey, expectedBasketVersion, ownerTokenSealed } = request;
    return this.sql.begin(async (tx) => {
      // Locking does not bump the version: it counts changes to the contents, so a retry with the same If-Match still fits.
      const [locked] = await tx`
        update baskets set status = 'locked', updated_at = now()
        where id = ${basketId} and owner_id = ${ownerId} and status = 'open'
          and (${expectedBasketVersion ?? null}::int is null or version = ${expectedBasketVersion ?? null}::int)
        returning id`;
      if (!locked) {
        const [current] = await tx<{ status: BasketStatus; version: number }[]>`
          select status, version from baskets where id = ${basketId} and owner_id = ${ownerId}`;
        throw basketWriteRefusal(current, expectedBasketVersion);
      }
      const lines = await tx<{ quantity: number; net_unit_minor: number; vat_basis_points: number }[]>`
        select quantity, net_unit_minor, vat_basis_points from basket_lines where basket_id = ${basketId}`;
      if (lines.length === 0) throw new AppError('BASKET_EMPTY', 'The basket has no items to order');
      const { totals } = priceBasket(
        lines.map((line) => ({ productId: '', productName: '', quantity: line.quantity, netUnitMinor: line.net_unit_minor, vatBasisPoints: line.vat_basis_points })),
      );
      const [row] = await tx<OrderRow[]>`
        insert into orders (id, owner_id, basket_id, state, total_minor, opened_by_key, owner_token_sealed)
        values (${orderId}, ${ownerId}, ${basketId}, 'pending', ${totals.gross}, ${idempotencyKey}, ${ownerTokenSealed})
        returning ${tx.unsafe(ORDER_COLUMNS)}`;
      return toOrder(row);
    });
  }

  async find(ownerId: string, orderId: string): Promise<Order | undefined> {
    const [row] = await this.sql<OrderRow[]>`select ${this.sql.unsafe(ORDER_COLUMNS)} from orders where id = ${orderId} and owner_id = ${ownerId}`;
    return row && toOrder(row);
  }

  async findById(orderId: string): Promise<Order | undefined> {
    const [row] = await this.sql<OrderRow[]>`select ${this.sql.unsafe(ORDER_COLUMNS)} from orders where id = ${orderId}`;
    return row && toOrder(row);
  }

  async findLiveForBasket(ownerId: string, basketId: string): Promise<Order | undefined> {
    const [row] = await this.sql<OrderRow[]>`
      select ${this.sql.unsafe(ORDER_COLUMNS)} from orders
      where basket_id = ${basketId} and owner_id = ${ownerId} and state <> 'failed'`;
    return row && toOrder(row);
  }

  async transition(orderId: string, from: readonly OrderState[], to: OrderState, changes: TransitionChanges = {}): Promise<Order | undefined> {
    assertTransitions(from, to);
    // updated_at is compared at millisecond precision: a JS Date carries no microseconds.
    const [row] = await this.sql<OrderRow[]>`
      update orders set
        state = ${to},
        last_error = coalesce(${changes.lastError ?? null}, last_error),
        upstream_order_id = coalesce(${changes.upstreamOrderId ?? null}, upstream_order_id),
        owner_token_sealed = case when ${isAtRest(to)} and duplicate_check_at is null then null else coalesce(${changes.ownerTokenSealed ?? null}, owner_token_sealed) end,
        duplicate_check_at = coalesce(now() + ${changes.duplicateCheckAfterMs ?? null}::double precision * interval '1 millisecond', duplicate_check_at),
        lease_until = coalesce(now() + ${changes.leaseMs ?? null}::double precision * interval '1 millisecond', lease_until),
        updated_at = now()
      where id = ${orderId} and state in ${this.sql(from as OrderState[])}
        and (${changes.unchangedSince ?? null}::timestamptz is null or date_trunc('milliseconds', updated_at) = ${changes.unchangedSince ?? null}::timestamptz)
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
  }

  async failAndReopenBasket(orderId: string, from: readonly OrderState[], reason: string): Promise<Order | undefined> {
    assertTransitions(from, 'failed');
    return this.sql.begin(async (tx) => {
      const [row] = await tx<OrderRow[]>`
        update orders set state = 'failed', last_error = ${reason}, owner_token_sealed = case when duplicate_check_at is null then null else owner_token_sealed end, updated_at = now()
        where id = ${orderId} and state in ${tx(from as OrderState[])}
        returning ${tx.unsafe(ORDER_COLUMNS)}`;
      if (!row) return undefined;
      await tx`update baskets set status = 'open', updated_at = now() where id = ${row.basket_id} and status = 'locked'`;
      return toOrder(row);
    });
  }

  async completeAndCloseBasket(orderId: string): Promise<Order | undefined> {
    assertTransitions(['paid'], 'completed');
    return this.sql.begin(async (tx) => {
      const [row] = await tx<OrderRow[]>`
        update orders set state = 'completed', owner_token_sealed = case when duplicate_check_at is null then null else owner_token_sealed end, updated_at = now()
        where id = ${orderId} and state = 'paid'
        returning ${tx.unsafe(ORDER_COLUMNS)}`;
      if (!row) return undefined;
      await tx`update baskets set status = 'closed', updated_at = now() where id = ${row.basket_id} and status = 'locked'`;
      return toOrder(row);
    });
  }

  async claimLease(orderId: string, leaseMs: number): Promise<Order | undefined> {
    const [row] = await this.sql<OrderRow[]>`
      update orders set lease_until = now() + ${leaseMs}::double precision * interval '1 millisecond'
      where id = ${orderId} and (lease_until is null or lease_until < now())
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
  }

  async releaseLease(orderId: string): Promise<void> {
    await this.sql`update orders set lease_until = null where id = ${orderId}`;
  }

  async startPayment(orderId: string, attemptId: string, ownerTokenSealed: string): Promise<{ order: Order; attempt: PaymentAttempt } | undefined> {
    assertTransitions(PAYABLE_STATES, 'paying');
    return this.sql.begin(async (tx) => {
      const [row] = await tx<OrderRow[]>`
        update orders set state = 'paying', payment_attempts = payment_attempts + 1, owner_token_sealed = ${ownerTokenSealed},
                          updated_at = now()
        where id = ${orderId} and state in ${tx(PAYABLE_STATES as OrderState[])}
        returning ${tx.unsafe(ORDER_COLUMNS)}`;
      if (!row) return undefined;
      await tx`insert into payment_attempts (id, order_id, amount_minor) values (${attemptId}, ${orderId}, ${row.total_minor})`;
      return { order: toOrder(row), attempt: { id: attemptId, orderId, amountMinor: row.total_minor, upstreamPaymentId: null } };
    });
  }

  async paymentInFlight(orderId: string): Promise<PaymentAttempt | undefined> {
    const [row] = await this.sql<PaymentAttemptRow[]>`
      select id, order_id, amount_minor, upstream_payment_id from payment_attempts
      where order_id = ${orderId} and outcome in ('sending', 'pending')`;
    return row && toPaymentAttempt(row);
  }

  async recordPendingPayment(attempt: PaymentAttempt, upstreamPaymentId: string): Promise<PaymentAttempt> {
    await this.sql`
      with pending as (
        update payment_attempts set outcome = 'pending', upstream_payment_id = ${upstreamPaymentId}, updated_at = now()
        where id = ${attempt.id} and outcome = 'sending'
        returning order_id
      )
      update orders set payment_id = ${upstreamPaymentId}, updated_at = now()
      where id in (select order_id from pending) and state = 'paying'`;
    return { ...attempt, upstreamPaymentId };
  }

  async finishPayment(attempt: PaymentAttempt, outcome: PaymentOutcome, upstreamPaymentId: string | null, lastError?: string): Promise<Order | undefined> {
    const next = STATE_AFTER_PAYMENT[outcome];
    assertTransitions(['paying'], next);
    return this.sql.begin(async (tx) => {
      // An attempt already judged unknown still records a late answer: it is what a person following up needs.
      await tx`
        update payment_attempts set outcome = ${outcome}, upstream_payment_id = coalesce(${upstreamPaymentId}, upstream_payment_id), updated_at = now()
        where id = ${attempt.id} and outcome in ('sending', 'pending', 'unknown')`;
      const [row] = await tx<OrderRow[]>`
        update orders set
          state = ${next},
          payment_id = case when ${outcome === 'completed'} then coalesce(${upstreamPaymentId}, payment_id) else payment_id end,
          last_error = ${lastError ?? null},
          updated_at = now()
        where id = ${attempt.orderId} and state = 'paying'
        returning ${tx.unsafe(ORDER_COLUMNS)}`;
      return row && toOrder(row);
    });
  }

  async markPaymentUnknown(orderId: string, reason: string): Promise<Order | undefined> {
    assertTransitions(['paying'], 'unknown');
    return this.sql.begin(async (tx) => {
      // A payment the upstream answered 'pending' has an id to follow up: it is never unknown.
      const [row] = await tx<OrderRow[]>`
        update orders set state = 'unknown', last_error = ${reason}, updated_at = now()
        where id = ${orderId} and state = 'paying'
          and not exists (select 1 from payment_attempts where order_id = ${orderId} and outcome = 'pending')
        returning ${tx.unsafe(ORDER_COLUMNS)}`;
      if (!row) return undefined;
      await tx`update payment_attempts set outcome = 'unknown', updated_at = now() where order_id = ${orderId} and outcome = 'sending'`;
      return toOrder(row);
    });
  }

  async openRefund(orderId: string): Promise<RefundAttempt | undefined> {
    const [row] = await this.sql<RefundAttemptRow[]>`
      select id, order_id, payment_id, outcome, updated_at from refund_attempts
      where order_id = ${orderId} and outcome in ('sending', 'unknown')`;
    return row && toRefundAttempt(row);
  }

  async startRefund(orderId: string, attemptId: string, paymentId: string): Promise<RefundAttempt | undefined> {
    const [row] = await this.sql<RefundAttemptRow[]>`
      insert into refund_attempts (id, order_id, payment_id)
      select ${attemptId}, id, ${paymentId} from orders where id = ${orderId} and state = 'refunding'
      on conflict do nothing
      returning id, order_id, payment_id, outcome, updated_at`;
    return row && toRefundAttempt(row);
  }

  async finishRefund(attempt: RefundAttempt, outcome: RefundAttempt['outcome'], lastError?: string): Promise<Order | undefined> {
    return this.sql.begin(async (tx) => {
      await tx`
        update refund_attempts set outcome = ${outcome}, updated_at = now()
        where id = ${attempt.id} and outcome in ('sending', 'unknown')`;
      const [row] = await tx<OrderRow[]>`
        update orders set
          state = case when ${outcome === 'refunded'} then 'refunded' else state end,
          owner_token_sealed = case when ${outcome === 'refunded'} and duplicate_check_at is null then null else owner_token_sealed end,
          last_error = coalesce(${lastError ?? null}, last_error),
          updated_at = now()
        where id = ${attempt.orderId} and state = 'refunding'
        returning ${tx.unsafe(ORDER_COLUMNS)}`;
      return row && toOrder(row);
    });
  }

  async claimForReconcile(claim: ReconcileClaim): Promise<Order[]> {
    const rows = await this.sql<OrderRow[]>`
      update orders set lease_until = now() + ${claim.leaseMs}::double precision * interval '1 millisecond',
                        reconcile_attempts = reconcile_attempts + 1
      where id in (
        select id from orders
        where (lease_until is null or lease_until < now())
          and (
            state in ${this.sql(STATES_SETTLED_AT_ONCE as OrderState[])}
            or (state in ${this.sql(STATES_ABANDONED_WHEN_IDLE as OrderState[])}
                and updated_at < now() - ${claim.abandonedAfterMs}::double precision * interval '1 millisecond')
            or (state = 'declined'
                and updated_at < now() - ${claim.declinedExpiryMs}::double precision * interval '1 millisecond')
            or duplicate_check_at < now()
          )
        order by updated_at
        limit ${claim.limit}
        for update skip locked
      )
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return rows.map(toOrder);
  }

  async clearDuplicateCheck(orderId: string): Promise<void> {
    await this.sql`
      update orders set duplicate_check_at = null,
        owner_token_sealed = case when state in ${this.sql(AT_REST_STATES as OrderState[])} then null else owner_token_sealed end
      where id = ${orderId}`;
  }

  async countByState(): Promise<Record<string, number>> {
    const rows = await this.sql<{ state: string; n: number }[]>`select state, count(*)::int as n from orders group by state`;
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  async healthByState(thresholds: HealthThresholds): Promise<Partial<Record<OrderState, StateHealth>>> {
    const ms = (value: number) => this.sql`${value}::double precision * interval '1 millisecond'`;
    // due_at: when the order became the reconciler's to settle (as claimForReconcile decides).
    const rows = await this.sql<{ state: OrderState; n: number; stuck: number; oldest_idle_seconds: number; overdue_seconds: number }[]>`
      select state,
             count(*)::int as n,
             (count(*) filter (where due_at < now() - ${ms(thresholds.stuckAfterMs)}))::int as stuck,
             coalesce(extract(epoch from now() - min(updated_at)), 0)::float8 as oldest_idle_seconds,
             coalesce(extract(epoch from now() - min(due_at) filter (where due_at <= now())), 0)::float8 as overdue_seconds
      from (
        select state, updated_at,
               case when state in ${this.sql(STATES_SETTLED_AT_ONCE as OrderState[])} then updated_at
                    when state in ${this.sql(STATES_ABANDONED_WHEN_IDLE as OrderState[])} then updated_at + ${ms(thresholds.abandonedAfterMs)}
                    when state = 'declined' then updated_at + ${ms(thresholds.declinedExpiryMs)}
               end as due_at
        from orders
        where state in ${this.sql([...UNSETTLED_STATES, 'unknown'] as OrderState[])}
      ) as unsettled
      group by state`;
    return Object.fromEntries(
      rows.map((r) => [r.state, { count: r.n, stuck: r.stuck, oldestIdleSeconds: Math.max(0, r.oldest_idle_seconds), overdueSeconds: Math.max(0, r.overdue_seconds) }]),
    );
  }
}
