import type { Clock } from '../clock';
import { sqlNow } from '../db/now';
import { writableBasket } from '../baskets/guard';
import { decodeCursor, keysetPage } from '../db/cursor';
import type { Query, Sql } from '../db/sql';
import type { Order, PaymentOutcome } from './order';
import type {
  HealthThresholds,
  OpenOrderRequest,
  OrderFilter,
  OrderPage,
  OrderRepository,
  PaymentAttempt,
  ReconcileClaim,
  RefundAttempt,
  Resolution,
  StateHealth,
  TransitionChanges,
} from './repository';
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

/** An order put to rest drops the owner's token, unless a duplicate check still needs to act as them. */
const KEEP_TOKEN_FOR_DUPLICATE_CHECK = 'case when duplicate_check_at is null then null else owner_token_sealed end';

export class PostgresOrderRepository implements OrderRepository {
  /** `clock`: the time every statement stamps and compares with, when not the database's (lib/db/now.ts). */
  constructor(
    private readonly sql: Sql,
    private readonly clock?: Clock,
  ) {}

  private now() {
    return sqlNow(this.sql, this.clock);
  }

  async open(request: OpenOrderRequest): Promise<Order | undefined> {
    const { ownerId, basketId, orderId, idempotencyKey, basketVersion, totalMinor, ownerTokenSealed } = request;
    // Locking does not bump the version: it counts changes to the contents, so a retry with the same If-Match still fits.
    const [row] = await this.sql<OrderRow[]>`
      with locked as (
        update baskets set status = 'locked', updated_at = ${this.now()}
        where ${writableBasket(this.sql, ownerId, basketId, basketVersion)}
        returning id
      )
      insert into orders (id, owner_id, basket_id, state, total_minor, opened_by_key, owner_token_sealed)
      select ${orderId}, ${ownerId}, id, 'pending', ${totalMinor}, ${idempotencyKey}, ${ownerTokenSealed} from locked
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
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
        owner_token_sealed = case when ${isAtRest(to)} then ${this.sql.unsafe(KEEP_TOKEN_FOR_DUPLICATE_CHECK)} else coalesce(${changes.ownerTokenSealed ?? null}, owner_token_sealed) end,
        duplicate_check_at = coalesce(${this.now()} + ${changes.duplicateCheckAfterMs ?? null}::double precision * interval '1 millisecond', duplicate_check_at),
        lease_until = coalesce(${this.now()} + ${changes.leaseMs ?? null}::double precision * interval '1 millisecond', lease_until),
        updated_at = ${this.now()}
      where id = ${orderId} and state in ${this.sql(from as OrderState[])}
        and (${changes.unchangedSince ?? null}::timestamptz is null or date_trunc('milliseconds', updated_at) = ${changes.unchangedSince ?? null}::timestamptz)
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
  }

  async failAndReopenBasket(orderId: string, from: readonly OrderState[], reason: string): Promise<Order | undefined> {
    assertTransitions(from, 'failed');
    const [row] = await this.sql<OrderRow[]>`
      with failed as (
        update orders set state = 'failed', last_error = ${reason}, owner_token_sealed = ${this.sql.unsafe(KEEP_TOKEN_FOR_DUPLICATE_CHECK)}, updated_at = ${this.now()}
        where id = ${orderId} and state in ${this.sql(from as OrderState[])}
        returning ${this.sql.unsafe(ORDER_COLUMNS)}
      ), reopened as (
        update baskets set status = 'open', updated_at = ${this.now()} where id in (select basket_id from failed) and status = 'locked'
      )
      select * from failed`;
    return row && toOrder(row);
  }

  async completeAndCloseBasket(orderId: string): Promise<Order | undefined> {
    assertTransitions(['paid'], 'completed');
    const [row] = await this.sql<OrderRow[]>`
      with completed as (
        update orders set state = 'completed', owner_token_sealed = ${this.sql.unsafe(KEEP_TOKEN_FOR_DUPLICATE_CHECK)}, lease_until = null, updated_at = ${this.now()}
        where id = ${orderId} and state = 'paid'
        returning ${this.sql.unsafe(ORDER_COLUMNS)}
      ), closed as (
        update baskets set status = 'closed', updated_at = ${this.now()} where id in (select basket_id from completed) and status = 'locked'
      )
      select * from completed`;
    return row && toOrder(row);
  }

  async claimLease(orderId: string, leaseMs: number): Promise<Order | undefined> {
    const [row] = await this.sql<OrderRow[]>`
      update orders set lease_until = ${this.now()} + ${leaseMs}::double precision * interval '1 millisecond'
      where id = ${orderId} and (lease_until is null or lease_until < ${this.now()})
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
  }

  async releaseLease(orderId: string): Promise<void> {
    await this.sql`update orders set lease_until = null where id = ${orderId}`;
  }

  async startPayment(orderId: string, attemptId: string, ownerTokenSealed: string): Promise<{ order: Order; attempt: PaymentAttempt } | undefined> {
    assertTransitions(PAYABLE_STATES, 'paying');
    const [row] = await this.sql<OrderRow[]>`
      with paying as (
        update orders set state = 'paying', payment_attempts = payment_attempts + 1, owner_token_sealed = ${ownerTokenSealed}, updated_at = ${this.now()}
        where id = ${orderId} and state in ${this.sql(PAYABLE_STATES as OrderState[])}
        returning ${this.sql.unsafe(ORDER_COLUMNS)}
      ), attempt as (
        insert into payment_attempts (id, order_id, amount_minor) select ${attemptId}, id, total_minor from paying
      )
      select * from paying`;
    if (!row) return undefined;
    return { order: toOrder(row), attempt: { id: attemptId, orderId, amountMinor: row.total_minor, upstreamPaymentId: null } };
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
        update payment_attempts set outcome = 'pending', upstream_payment_id = ${upstreamPaymentId}, updated_at = ${this.now()}
        where id = ${attempt.id} and outcome = 'sending'
        returning order_id
      )
      update orders set payment_id = ${upstreamPaymentId}, updated_at = ${this.now()}
      where id in (select order_id from pending) and state = 'paying'`;
    return { ...attempt, upstreamPaymentId };
  }

  async finishPayment(attempt: PaymentAttempt, outcome: PaymentOutcome, upstreamPaymentId: string | null, lastError?: string): Promise<Order | undefined> {
    const next = STATE_AFTER_PAYMENT[outcome];
    assertTransitions(['paying'], next);
    // An attempt already judged unknown still records a late answer: it is what a person following up needs.
    const [row] = await this.sql<OrderRow[]>`
      with answered as (
        update payment_attempts set outcome = ${outcome}, upstream_payment_id = coalesce(${upstreamPaymentId}, upstream_payment_id), updated_at = ${this.now()}
        where id = ${attempt.id} and outcome in ('sending', 'pending', 'unknown')
      )
      update orders set
        state = ${next},
        payment_id = case when ${outcome === 'completed'} then coalesce(${upstreamPaymentId}, payment_id) else payment_id end,
        last_error = ${lastError ?? null},
        updated_at = ${this.now()}
      where id = ${attempt.orderId} and state = 'paying'
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
  }

  async markPaymentUnknown(orderId: string, reason: string): Promise<Order | undefined> {
    assertTransitions(['paying'], 'unknown');
    // A payment the upstream answered 'pending' has an id to follow up: it is never unknown.
    const [row] = await this.sql<OrderRow[]>`
      with unknown as (
        update orders set state = 'unknown', last_error = ${reason}, updated_at = ${this.now()}
        where id = ${orderId} and state = 'paying'
          and not exists (select 1 from payment_attempts where order_id = ${orderId} and outcome = 'pending')
        returning ${this.sql.unsafe(ORDER_COLUMNS)}
      ), attempt as (
        update payment_attempts set outcome = 'unknown', updated_at = ${this.now()} where order_id in (select id from unknown) and outcome = 'sending'
      )
      select * from unknown`;
    return row && toOrder(row);
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
    const [row] = await this.sql<OrderRow[]>`
      with answered as (
        update refund_attempts set outcome = ${outcome}, updated_at = ${this.now()}
        where id = ${attempt.id} and outcome in ('sending', 'unknown')
      )
      update orders set
        state = case when ${outcome === 'refunded'} then 'refunded' else state end,
        owner_token_sealed = case when ${outcome === 'refunded'} then ${this.sql.unsafe(KEEP_TOKEN_FOR_DUPLICATE_CHECK)} else owner_token_sealed end,
        last_error = coalesce(${lastError ?? null}, last_error),
        updated_at = ${this.now()}
      where id = ${attempt.orderId} and state = 'refunding'
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
  }

  listForOwner(ownerId: string, filter: OrderFilter): Promise<OrderPage> {
    const states = filter.states && filter.states.length > 0 ? filter.states : null;
    return this.listPage(
      this.sql`owner_id = ${ownerId}
        and (${states === null} or state in ${this.sql((states ?? ['']) as string[])})
        and (${filter.basketId ?? null}::uuid is null or basket_id = ${filter.basketId ?? null}::uuid)`,
      filter,
    );
  }

  listNeedingAttention(filter: { limit: number; after?: string; stuckAfterMs: number }): Promise<OrderPage> {
    return this.listPage(
      this.sql`(state = 'unknown'
             or (state in ${this.sql(UNSETTLED_STATES as OrderState[])}
                 and updated_at < ${this.now()} - ${filter.stuckAfterMs}::double precision * interval '1 millisecond'))`,
      filter,
    );
  }

  /** A page of the orders `where` selects, newest first, from after the cursor. */
  private async listPage(where: Query, filter: { limit: number; after?: string }): Promise<OrderPage> {
    const [afterCreatedAt, afterId] = filter.after ? decodeCursor(filter.after) : [null, null];
    const rows = await this.sql<(OrderRow & { created_at_text: string })[]>`
      select ${this.sql.unsafe(ORDER_COLUMNS)}, created_at::text as created_at_text from orders
      where ${where}
        and (${afterCreatedAt}::text is null or (created_at, id) < (${afterCreatedAt}::text::timestamptz, ${afterId}::uuid))
      order by created_at desc, id desc
      limit ${filter.limit + 1}`;
    const { shown, nextCursor } = keysetPage(rows, filter.limit);
    return { orders: shown.map(toOrder), nextCursor };
  }

  async resolve(resolution: Omit<Resolution, 'resolvedAt'>): Promise<Order | undefined> {
    const next: OrderState = resolution.outcome === 'charged' ? 'paid' : 'failing';
    assertTransitions(['unknown'], next);
    const [row] = await this.sql<OrderRow[]>`
      with recorded as (
        insert into order_resolutions (order_id, outcome, payment_id, reason, resolved_by)
        select id, ${resolution.outcome}, ${resolution.paymentId}, ${resolution.reason}, ${resolution.resolvedBy}
        from orders where id = ${resolution.orderId} and state = 'unknown'
        on conflict (order_id) do nothing
        returning order_id
      )
      update orders set
        state = ${next},
        payment_id = coalesce(${resolution.paymentId}, payment_id),
        last_error = ${`RESOLVED ${resolution.outcome.toUpperCase()} by ${resolution.resolvedBy}: ${resolution.reason}`},
        updated_at = ${this.now()}
      where id in (select order_id from recorded) and state = 'unknown'
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
  }

  async findResolution(orderId: string): Promise<Resolution | undefined> {
    const [row] = await this.sql<{ order_id: string; outcome: Resolution['outcome']; payment_id: string | null; reason: string; resolved_by: string; resolved_at: Date }[]>`
      select order_id, outcome, payment_id, reason, resolved_by, resolved_at from order_resolutions where order_id = ${orderId}`;
    return row && { orderId: row.order_id, outcome: row.outcome, paymentId: row.payment_id, reason: row.reason, resolvedBy: row.resolved_by, resolvedAt: row.resolved_at };
  }

  async claimForReconcile(claim: ReconcileClaim): Promise<Order[]> {
    const rows = await this.sql<OrderRow[]>`
      update orders set lease_until = ${this.now()} + ${claim.leaseMs}::double precision * interval '1 millisecond',
                        reconcile_attempts = reconcile_attempts + 1
      where id in (
        select id from orders
        where (lease_until is null or lease_until < ${this.now()})
          and (
            state in ${this.sql(STATES_SETTLED_AT_ONCE as OrderState[])}
            or (state in ${this.sql(STATES_ABANDONED_WHEN_IDLE as OrderState[])}
                and updated_at < ${this.now()} - ${claim.abandonedAfterMs}::double precision * interval '1 millisecond')
            or (state = 'declined'
                and updated_at < ${this.now()} - ${claim.declinedExpiryMs}::double precision * interval '1 millisecond')
            or duplicate_check_at < ${this.now()}
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

  async healthByState(thresholds: HealthThresholds): Promise<Partial<Record<OrderState, StateHealth>>> {
    const ms = (value: number) => this.sql`${value}::double precision * interval '1 millisecond'`;
    // due_at: when the order became the reconciler's to settle (as claimForReconcile decides).
    const rows = await this.sql<{ state: OrderState; n: number; stuck: number; oldest_idle_seconds: number; overdue_seconds: number }[]>`
      select state,
             count(*)::int as n,
             (count(*) filter (where due_at < ${this.now()} - ${ms(thresholds.stuckAfterMs)}))::int as stuck,
             coalesce(extract(epoch from ${this.now()} - min(updated_at)), 0)::float8 as oldest_idle_seconds,
             coalesce(extract(epoch from ${this.now()} - min(due_at) filter (where due_at <= ${this.now()})), 0)::float8 as overdue_seconds
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
