import type { Clock } from '../clock';
import { sqlNow } from '../db/now';
import { writableBasket } from '../baskets/guard';
import { decodeCursor, keysetPage } from '../db/cursor';
import type { Query, Sql } from '../db/sql';
import { storeOrderAnswerStatement, takeKeyStatement, type KeyClaim } from '../idempotency/claim';
import type { Order, PaymentOutcome } from './order';
import type {
  HealthThresholds,
  Lease,
  OpenOrderRequest,
  OrderFilter,
  OrderPage,
  OrderRepository,
  PaymentAttempt,
  ReconcileClaim,
  StartPaymentOptions,
  RefundAttempt,
  Resolution,
  StateHealth,
  TransitionChanges,
} from './repository';
import {
  assertTransitions,
  AT_REST_STATES,
  PAYABLE_STATES,
  STATES_ABANDONED_WHEN_IDLE,
  STATES_SETTLED_AT_ONCE,
  UNSETTLED_STATES,
  type OrderState,
  type ReconcileThresholds,
} from './state-machine';

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
  create_sent_at: Date | null;
  creates_sent: number;
  created_at: Date;
  updated_at: Date;
}

const ORDER_COLUMNS =
  'id, owner_id, basket_id, state, total_minor, opened_by_key, upstream_order_id, payment_id, payment_attempts, last_error, owner_token_sealed, duplicate_check_at, create_sent_at, creates_sent, created_at, updated_at';

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
    createSentAt: row.create_sent_at,
    createsSent: row.creates_sent,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

interface PaymentAttemptRow {
  id: string;
  order_id: string;
  number: number;
  amount_minor: number;
  upstream_payment_id: string | null;
  created_at: Date;
  outcome: string;
}

/** An order row `o` as the JSON an answer stored with a payment's outcome keeps (lib/orders/order.ts, OrderJson); never the owner's token. */
const ORDER_JSON = `jsonb_build_object(
  'id', o.id, 'ownerId', o.owner_id, 'basketId', o.basket_id, 'state', o.state, 'totalMinor', o.total_minor,
  'openedByKey', o.opened_by_key, 'upstreamOrderId', o.upstream_order_id, 'paymentId', o.payment_id,
  'paymentAttempts', o.payment_attempts, 'lastError', o.last_error, 'duplicateCheckAt', o.duplicate_check_at,
  'createSentAt', o.create_sent_at, 'createsSent', o.creates_sent, 'createdAt', o.created_at, 'updatedAt', o.updated_at)`;

const ATTEMPT_COLUMNS = 'id, order_id, number, amount_minor, upstream_payment_id, created_at, outcome';

const toPaymentAttempt = (row: PaymentAttemptRow): PaymentAttempt => ({
  id: row.id,
  orderId: row.order_id,
  number: row.number,
  amountMinor: row.amount_minor,
  upstreamPaymentId: row.upstream_payment_id,
  sentAt: row.created_at,
});

interface RefundAttemptRow {
  id: string;
  order_id: string;
  payment_id: string;
  outcome: RefundAttempt['outcome'];
  created_at: Date;
}

const toRefundAttempt = (row: RefundAttemptRow): RefundAttempt => ({
  id: row.id,
  orderId: row.order_id,
  paymentId: row.payment_id,
  outcome: row.outcome,
  sentAt: row.created_at,
});

interface ResolutionRow {
  order_id: string;
  resolved_from: Resolution['resolvedFrom'];
  outcome: Resolution['outcome'];
  payment_id: string | null;
  reason: string;
  resolved_by: string;
  resolved_at: Date;
}

const STATE_AFTER_PAYMENT: Record<PaymentOutcome, OrderState> = {
  completed: 'paid',
  declined: 'declined',
  no_charge: 'placed',
  unknown: 'unknown',
};

const isAtRest = (state: OrderState) => AT_REST_STATES.includes(state);

/** The upstream's late-effect window unless one is configured (UPSTREAM_LATE_EFFECT_MS). */
export const DEFAULT_LATE_EFFECT_MS = 30_000;

export interface OrderRepositoryOptions {
  /** The time every statement stamps and compares with, when not the database's (lib/db/now.ts). */
  clock?: Clock;
  /** How long after it was sent an order creation may still land upstream: when a duplicate check is due. */
  lateEffectMs?: number;
}

export class PostgresOrderRepository implements OrderRepository {
  private readonly clock?: Clock;
  private readonly lateEffectMs: number;

  constructor(
    private readonly sql: Sql,
    options: OrderRepositoryOptions = {},
  ) {
    this.clock = options.clock;
    this.lateEffectMs = options.lateEffectMs ?? DEFAULT_LATE_EFFECT_MS;
  }

  private now() {
    return sqlNow(this.sql, this.clock);
  }

  /** `now` plus `ms`, as SQL. */
  private inMs(ms: number) {
    return this.sql`${this.now()} + ${ms}::double precision * interval '1 millisecond'`;
  }

  /**
   * SET clauses for a statement that may leave an order's creation uncertain or put the order to rest:
   * when `mayStillLand` and the latest POST /orders/ may still land, GET /orders/ is checked for
   * duplicates once its late-effect window has passed; the owner's token stays while such a check is
   * due (it acts as them) or the order is not at rest, and is erased otherwise.
   */
  private duplicateCheckAnd(tokenRule: { atRest: boolean; replaceWith?: string }, mayStillLand: Query | boolean) {
    const landBy = this.sql`create_sent_at + ${this.lateEffectMs}::double precision * interval '1 millisecond'`;
    const due = this.sql`(${mayStillLand} and ${landBy} > ${this.now()})`;
    const kept = this.sql`coalesce(${tokenRule.replaceWith ?? null}, owner_token_sealed)`;
    return this.sql`
      duplicate_check_at = case when ${due} then greatest(coalesce(duplicate_check_at, ${landBy}), ${landBy}) else duplicate_check_at end,
      owner_token_sealed = case when ${!tokenRule.atRest} or duplicate_check_at is not null or ${due} then ${kept} else null end`;
  }

  /** Another create of this checkout may still land: asked for (`checkDuplicates`), or, `adopting` an upstream order, another create was sent (by any actor). */
  private mayLeaveDuplicates(checkDuplicates: boolean, adopting: boolean): Query {
    return this.sql`(${checkDuplicates} or (${adopting} and creates_sent > 1))`;
  }

  async open(request: OpenOrderRequest): Promise<Order | undefined> {
    const { ownerId, basketId, orderId, idempotencyKey, expectedBasketVersion, ownerTokenSealed, key } = request;
    // Locking does not bump the version: it counts changes to the contents, so a retry with the same If-Match still fits.
    // The total comes from the locked row: a basket write that commits first is re-read by the update, total and all.
    // The first POST /orders/ goes out right after this statement: it is recorded here, as sent.
    const [row] = await this.sql<(Partial<OrderRow> & { key_taken: number })[]>`
      with key as (${this.keyTake(key)}),
      locked as (
        update baskets set status = 'locked', updated_at = ${this.now()}
        where ${writableBasket(this.sql, ownerId, basketId, expectedBasketVersion)} and line_count > 0 and exists (select 1 from key)
        returning id, total_minor
      ), opened as (
        insert into orders (id, owner_id, basket_id, state, total_minor, opened_by_key, owner_token_sealed, create_sent_at, creates_sent, created_at, updated_at)
        select ${orderId}, ${ownerId}, id, 'pending', total_minor, ${idempotencyKey}, ${ownerTokenSealed}, ${this.now()}, 1, ${this.now()}, ${this.now()} from locked
        returning ${this.sql.unsafe(ORDER_COLUMNS)}
      )
      select (select count(*) from key)::int as key_taken, opened.* from (select 1) as one left join opened on true`;
    if (key && !key.isTaken) key.tookIt(row!.key_taken > 0);
    return row!.id ? toOrder(row as OrderRow) : undefined;
  }

  /** The statement that takes the request's key, or a row standing for the key when there is none to take (taken already, or no key). */
  private keyTake(key: KeyClaim | undefined): Query {
    return key && !key.isTaken ? takeKeyStatement(this.sql, key, this.now()) : this.sql`select 1 as attempts`;
  }

  async find(ownerId: string, orderId: string): Promise<Order | undefined> {
    const [row] = await this.sql<
      OrderRow[]
    >`select ${this.sql.unsafe(ORDER_COLUMNS)} from orders where id = ${orderId} and owner_id = ${ownerId}`;
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

  async transition(
    orderId: string,
    from: readonly OrderState[],
    to: OrderState,
    changes: TransitionChanges = {},
  ): Promise<Order | undefined> {
    assertTransitions(from, to);
    // updated_at is compared at millisecond precision: a JS Date carries no microseconds.
    const [row] = await this.sql<OrderRow[]>`
      update orders set
        state = ${to},
        last_error = coalesce(${changes.lastError ?? null}, last_error),
        upstream_order_id = coalesce(${changes.upstreamOrderId ?? null}, upstream_order_id),
        ${this.duplicateCheckAnd(
          { atRest: isAtRest(to), replaceWith: changes.ownerTokenSealed },
          this.mayLeaveDuplicates(changes.checkDuplicates ?? false, changes.upstreamOrderId !== undefined),
        )},
        lease_until = case when ${changes.lease !== undefined} then ${this.inMs(changes.lease?.ms ?? 0)} else lease_until end,
        lease_holder = case when ${changes.lease !== undefined} then ${changes.lease?.holder ?? null}::uuid else lease_holder end,
        updated_at = ${this.now()}
      where id = ${orderId} and state in ${this.sql(from as OrderState[])}
        and (${changes.unchangedSince ?? null}::timestamptz is null or date_trunc('milliseconds', updated_at) = ${changes.unchangedSince ?? null}::timestamptz)
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
  }

  async recordCreateSent(orderId: string): Promise<Order | undefined> {
    const [row] = await this.sql<OrderRow[]>`
      update orders set create_sent_at = ${this.now()}, creates_sent = creates_sent + 1, updated_at = ${this.now()}
      where id = ${orderId} and state = 'pending'
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
  }

  async failAndReopenBasket(
    orderId: string,
    from: readonly OrderState[],
    reason: string,
    options: { onlyIfCreatesSent?: number } = {},
  ): Promise<Order | undefined> {
    assertTransitions(from, 'failed');
    // A creation may still land if the order never adopted an upstream order, or more than one was sent.
    const [row] = await this.sql<OrderRow[]>`
      with failed as (
        update orders set state = 'failed', last_error = ${reason},
          ${this.duplicateCheckAnd({ atRest: true }, this.sql`(upstream_order_id is null or creates_sent > 1)`)},
          updated_at = ${this.now()}
        where id = ${orderId} and state in ${this.sql(from as OrderState[])}
          and (${options.onlyIfCreatesSent ?? null}::int is null or creates_sent = ${options.onlyIfCreatesSent ?? null}::int)
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
        update orders set state = 'completed', ${this.duplicateCheckAnd({ atRest: true }, false)},
          lease_until = null, lease_holder = null, updated_at = ${this.now()}
        where id = ${orderId} and state = 'paid'
        returning ${this.sql.unsafe(ORDER_COLUMNS)}
      ), closed as (
        update baskets set status = 'closed', updated_at = ${this.now()} where id in (select basket_id from completed) and status = 'locked'
      )
      select * from completed`;
    return row && toOrder(row);
  }

  async claimLease(orderId: string, lease: Lease): Promise<Order | undefined> {
    const [row] = await this.sql<OrderRow[]>`
      update orders set lease_until = ${this.inMs(lease.ms)}, lease_holder = ${lease.holder}::uuid
      where id = ${orderId} and (lease_until is null or lease_until < ${this.now()})
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
  }

  async releaseLease(orderId: string, holder: string): Promise<void> {
    await this.sql`update orders set lease_until = null, lease_holder = null where id = ${orderId} and lease_holder = ${holder}::uuid`;
  }

  async startPayment(
    orderId: string,
    attemptId: string,
    ownerTokenSealed: string,
    options: StartPaymentOptions = {},
  ): Promise<{ order: Order; attempt: PaymentAttempt } | undefined> {
    const { key, ownerId, adopting } = options;
    const from: readonly OrderState[] = adopting ? ['pending'] : PAYABLE_STATES;
    assertTransitions(from, 'paying');
    const [row] = await this.sql<(Partial<OrderRow> & { attempt_sent_at: Date | null; key_taken: number })[]>`
      with key as (${this.keyTake(key)}),
      paying as (
        update orders set
          state = 'paying',
          payment_attempts = payment_attempts + 1,
          upstream_order_id = coalesce(${adopting?.upstreamOrderId ?? null}, upstream_order_id),
          ${this.duplicateCheckAnd(
            { atRest: false, replaceWith: ownerTokenSealed },
            this.mayLeaveDuplicates(adopting?.checkDuplicates ?? false, adopting !== undefined),
          )},
          updated_at = ${this.now()}
        where id = ${orderId} and state in ${this.sql(from as OrderState[])}
          and (${ownerId ?? null}::text is null or owner_id = ${ownerId ?? null}::text) and exists (select 1 from key)
        returning ${this.sql.unsafe(ORDER_COLUMNS)}
      ), attempt as (
        insert into payment_attempts (id, order_id, number, amount_minor, created_at, updated_at)
        select ${attemptId}, id, payment_attempts, total_minor, ${this.now()}, ${this.now()} from paying
        returning created_at
      )
      select (select count(*) from key)::int as key_taken, paying.*, attempt.created_at as attempt_sent_at
      from (select 1) as one left join (paying cross join attempt) on true`;
    if (key && !key.isTaken) key.tookIt(row!.key_taken > 0);
    if (!row!.id) return undefined;
    const order = toOrder(row as OrderRow);
    return {
      order,
      attempt: {
        id: attemptId,
        orderId,
        number: order.paymentAttempts,
        amountMinor: order.totalMinor,
        upstreamPaymentId: null,
        sentAt: row!.attempt_sent_at!,
      },
    };
  }

  async paymentInFlight(orderId: string): Promise<PaymentAttempt | undefined> {
    const [row] = await this.sql<PaymentAttemptRow[]>`
      select ${this.sql.unsafe(ATTEMPT_COLUMNS)} from payment_attempts
      where order_id = ${orderId} and outcome in ('sending', 'pending')`;
    return row && toPaymentAttempt(row);
  }

  async latestPayment(orderId: string): Promise<(PaymentAttempt & { outcome: string }) | undefined> {
    const [row] = await this.sql<PaymentAttemptRow[]>`
      select ${this.sql.unsafe(ATTEMPT_COLUMNS)} from payment_attempts where order_id = ${orderId} order by number desc limit 1`;
    return row && { ...toPaymentAttempt(row), outcome: row.outcome };
  }

  async recordPendingPayment(attempt: PaymentAttempt, upstreamPaymentId: string): Promise<PaymentAttempt> {
    await this.sql`
      with pending as (
        update payment_attempts set outcome = 'pending', upstream_payment_id = ${upstreamPaymentId}, updated_at = ${this.now()}
        where id = ${attempt.id} and outcome = 'sending'
        returning order_id, number
      )
      update orders set payment_id = ${upstreamPaymentId}, updated_at = ${this.now()}
      where id in (select order_id from pending) and payment_attempts = (select number from pending) and state = 'paying'`;
    return { ...attempt, upstreamPaymentId };
  }

  async finishPayment(
    attempt: PaymentAttempt,
    outcome: PaymentOutcome,
    upstreamPaymentId: string | null,
    lastError?: string,
    answer?: KeyClaim,
  ): Promise<Order | undefined> {
    const next = STATE_AFTER_PAYMENT[outcome];
    assertTransitions(['paying'], next);
    if (next !== 'unknown') assertTransitions(['unknown'], next);
    // An attempt already judged unknown still records a late answer; it moves the order only if it is the
    // order's latest attempt and the order still waits for it (paying) or for evidence (unknown).
    const [row] = await this.sql<(OrderRow & { answer_stored: number })[]>`
      with answered as (
        update payment_attempts set outcome = ${outcome}, upstream_payment_id = coalesce(${upstreamPaymentId}, upstream_payment_id), updated_at = ${this.now()}
        where id = ${attempt.id} and outcome in ('sending', 'pending', 'unknown')
        returning order_id, number
      ), moved as (
        update orders set
          state = ${next},
          payment_id = case when ${outcome === 'completed'} then coalesce(${upstreamPaymentId}, payment_id) else payment_id end,
          last_error = ${lastError ?? null},
          updated_at = ${this.now()}
        where id in (select order_id from answered) and payment_attempts = (select number from answered)
          and state in ('paying', 'unknown')
        returning ${this.sql.unsafe(ORDER_COLUMNS)}
      ), stored as (${
        answer?.isHeld
          ? storeOrderAnswerStatement(this.sql, answer.scope, this.sql`(select ${this.sql.unsafe(ORDER_JSON)} from moved o)`, this.now())
          : this.sql`select 1 where false`
      })
      select moved.*, (select count(*) from stored)::int as answer_stored from moved`;
    if (row?.answer_stored) answer!.answered();
    return row && toOrder(row);
  }

  async markPaymentUnknown(attempt: PaymentAttempt, reason: string): Promise<Order | undefined> {
    assertTransitions(['paying'], 'unknown');
    // A payment the upstream answered 'pending' has an id to follow up: only one still 'sending' is unknown.
    const [row] = await this.sql<OrderRow[]>`
      with unanswered as (
        update payment_attempts set outcome = 'unknown', updated_at = ${this.now()}
        where id = ${attempt.id} and outcome = 'sending'
        returning order_id, number
      )
      update orders set state = 'unknown', last_error = ${reason}, updated_at = ${this.now()}
      where id in (select order_id from unanswered) and payment_attempts = (select number from unanswered) and state = 'paying'
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
  }

  async openRefund(orderId: string): Promise<RefundAttempt | undefined> {
    const [row] = await this.sql<RefundAttemptRow[]>`
      select id, order_id, payment_id, outcome, created_at from refund_attempts
      where order_id = ${orderId} and outcome in ('sending', 'unknown')`;
    return row && toRefundAttempt(row);
  }

  async startRefund(orderId: string, attemptId: string, paymentId: string): Promise<RefundAttempt | undefined> {
    const [row] = await this.sql<RefundAttemptRow[]>`
      insert into refund_attempts (id, order_id, payment_id, created_at, updated_at)
      select ${attemptId}, id, ${paymentId}, ${this.now()}, ${this.now()} from orders where id = ${orderId} and state = 'refunding'
      on conflict do nothing
      returning id, order_id, payment_id, outcome, created_at`;
    return row && toRefundAttempt(row);
  }

  async finishRefund(attempt: RefundAttempt, outcome: RefundAttempt['outcome'], lastError?: string): Promise<Order | undefined> {
    const refunded = outcome === 'refunded';
    const [row] = await this.sql<OrderRow[]>`
      with answered as (
        update refund_attempts set outcome = ${outcome}, updated_at = ${this.now()}
        where id = ${attempt.id} and outcome in ('sending', 'unknown')
        returning order_id
      )
      update orders set
        state = case when ${refunded} then 'refunded' else state end,
        ${this.duplicateCheckAnd({ atRest: refunded }, false)},
        last_error = coalesce(${lastError ?? null}, last_error),
        updated_at = ${this.now()}
      where id in (select order_id from answered) and state = 'refunding'
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

  async resolve(resolution: Omit<Resolution, 'resolvedAt'>, to: OrderState): Promise<Order | undefined> {
    const from = resolution.resolvedFrom;
    assertTransitions([from], to);
    // What a terminal sees is a stable code; who decided and why is in the resolution, for operators.
    const [row] = await this.sql<OrderRow[]>`
      with recorded as (
        insert into order_resolutions (order_id, resolved_from, outcome, payment_id, reason, resolved_by, resolved_at)
        select id, ${from}, ${resolution.outcome}, ${resolution.paymentId}, ${resolution.reason}, ${resolution.resolvedBy}, ${this.now()}
        from orders where id = ${resolution.orderId} and state = ${from}
        on conflict (order_id, resolved_from) do nothing
        returning order_id
      ), resolved as (
        update orders set
          state = ${to},
          payment_id = coalesce(${resolution.paymentId}, payment_id),
          last_error = ${`RESOLVED_${resolution.outcome.toUpperCase()}: established by an operator`},
          ${this.duplicateCheckAnd({ atRest: isAtRest(to) }, false)},
          updated_at = ${this.now()}
        where id in (select order_id from recorded) and state = ${from}
        returning ${this.sql.unsafe(ORDER_COLUMNS)}
      ), closed as (
        update baskets set status = 'closed', updated_at = ${this.now()}
        where id in (select basket_id from resolved where state = 'completed') and status = 'locked'
      )
      select * from resolved`;
    return row && toOrder(row);
  }

  async findResolutions(orderId: string): Promise<Resolution[]> {
    const rows = await this.sql<ResolutionRow[]>`
      select order_id, resolved_from, outcome, payment_id, reason, resolved_by, resolved_at from order_resolutions
      where order_id = ${orderId} order by resolved_at desc, resolved_from`;
    return rows.map((r) => ({
      orderId: r.order_id,
      resolvedFrom: r.resolved_from,
      outcome: r.outcome,
      paymentId: r.payment_id,
      reason: r.reason,
      resolvedBy: r.resolved_by,
      resolvedAt: r.resolved_at,
    }));
  }

  async claimForReconcile(claim: ReconcileClaim): Promise<Order[]> {
    // Oldest due first: an order at rest waiting for its duplicate check is due when the check is, not when it last changed.
    const rows = await this.sql<OrderRow[]>`
      update orders set lease_until = ${this.inMs(claim.lease.ms)}, lease_holder = ${claim.lease.holder}::uuid,
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
        order by least(${this.settleDueAt(claim)}, duplicate_check_at)
        limit ${claim.limit}
        for update skip locked
      )
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return rows.map(toOrder);
  }

  /** When the reconciler should settle an order (null: never by itself), as settleDueAt in lib/orders/state-machine.ts says. */
  private settleDueAt(thresholds: ReconcileThresholds): Query {
    const ms = (value: number) => this.sql`${value}::double precision * interval '1 millisecond'`;
    return this.sql`(case when state in ${this.sql(STATES_SETTLED_AT_ONCE as OrderState[])} then updated_at
                          when state in ${this.sql(STATES_ABANDONED_WHEN_IDLE as OrderState[])} then updated_at + ${ms(thresholds.abandonedAfterMs)}
                          when state = 'declined' then updated_at + ${ms(thresholds.declinedExpiryMs)}
                     end)`;
  }

  async clearDuplicateCheck(orderId: string): Promise<void> {
    await this.sql`
      update orders set duplicate_check_at = null,
        owner_token_sealed = case when state in ${this.sql(AT_REST_STATES as OrderState[])} then null else owner_token_sealed end
      where id = ${orderId}`;
  }

  async tokensSealedUnder(keyIds: readonly string[], limit: number): Promise<Array<{ orderId: string; sealed: string }>> {
    if (keyIds.length === 0) return [];
    const rows = await this.sql<{ id: string; owner_token_sealed: string }[]>`
      select id, owner_token_sealed from orders
      where owner_token_sealed is not null and split_part(owner_token_sealed, '.', 2) in ${this.sql(keyIds as string[])}
      order by updated_at limit ${limit}`;
    return rows.map((row) => ({ orderId: row.id, sealed: row.owner_token_sealed }));
  }

  async replaceSealedToken(orderId: string, from: string, to: string): Promise<boolean> {
    const rows = await this
      .sql`update orders set owner_token_sealed = ${to} where id = ${orderId} and owner_token_sealed = ${from} returning id`;
    return rows.length === 1;
  }

  async sealedTokensByKey(): Promise<Record<string, number>> {
    const rows = await this.sql<{ key_id: string; n: number }[]>`
      select split_part(owner_token_sealed, '.', 2) as key_id, count(*)::int as n from orders
      where owner_token_sealed is not null group by 1`;
    return Object.fromEntries(rows.map((row) => [row.key_id, Number(row.n)]));
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
        select state, updated_at, ${this.settleDueAt(thresholds)} as due_at
        from orders
        where state in ${this.sql([...UNSETTLED_STATES, 'unknown'] as OrderState[])}
      ) as unsettled
      group by state`;
    return Object.fromEntries(
      rows.map((r) => [
        r.state,
        {
          count: r.n,
          stuck: r.stuck,
          oldestIdleSeconds: Math.max(0, r.oldest_idle_seconds),
          overdueSeconds: Math.max(0, r.overdue_seconds),
        },
      ]),
    );
  }
}
