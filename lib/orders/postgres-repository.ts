import { basketWriteRefusal, priceBasket, type BasketStatus } from '../baskets/basket';
import type { Sql } from '../db/sql';
import { AppError } from '../errors';
import type { Order, PaymentOutcome } from './order';
import type { OpenOrderRequest, OrderRepository, PaymentAttempt, ReconcileClaim } from './repository';
import { assertTransitions, type OrderState } from './state-machine';

interface OrderRow {
  id: string;
  owner_id: string;
  basket_id: string;
  state: OrderState;
  total_minor: number;
  opened_by_key: string;
  payment_id: string | null;
  payment_attempts: number;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

const ORDER_COLUMNS = 'id, owner_id, basket_id, state, total_minor, opened_by_key, payment_id, payment_attempts, last_error, created_at, updated_at';

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    ownerId: row.owner_id,
    basketId: row.basket_id,
    state: row.state,
    totalMinor: row.total_minor,
    openedByKey: row.opened_by_key,
    paymentId: row.payment_id,
    paymentAttempts: row.payment_attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const STATE_AFTER_PAYMENT: Record<PaymentOutcome, OrderState> = {
  completed: 'paid',
  declined: 'declined',
  no_charge: 'placed',
  unknown: 'unknown',
};

export class PostgresOrderRepository implements OrderRepository {
  constructor(private readonly sql: Sql) {}

  async open(request: OpenOrderRequest): Promise<Order> {
    const { ownerId, basketId, orderId, idempotencyKey, expectedBasketVersion } = request;
    return this.sql.begin(async (tx) => {
      const [locked] = await tx`
        update baskets set status = 'locked', version = version + 1, updated_at = now()
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
        insert into orders (id, owner_id, basket_id, state, total_minor, opened_by_key)
        values (${orderId}, ${ownerId}, ${basketId}, 'pending', ${totals.gross}, ${idempotencyKey})
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

  async transition(orderId: string, from: readonly OrderState[], to: OrderState, changes: { lastError?: string } = {}): Promise<Order | undefined> {
    assertTransitions(from, to);
    const [row] = await this.sql<OrderRow[]>`
      update orders set state = ${to}, last_error = coalesce(${changes.lastError ?? null}, last_error), lease_until = null, updated_at = now()
      where id = ${orderId} and state in ${this.sql(from as OrderState[])}
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return row && toOrder(row);
  }

  async failAndReopenBasket(orderId: string, from: readonly OrderState[], reason: string): Promise<Order | undefined> {
    assertTransitions(from, 'failed');
    return this.sql.begin(async (tx) => {
      const [row] = await tx<OrderRow[]>`
        update orders set state = 'failed', last_error = ${reason}, lease_until = null, updated_at = now()
        where id = ${orderId} and state in ${tx(from as OrderState[])}
        returning ${tx.unsafe(ORDER_COLUMNS)}`;
      if (!row) return undefined;
      await tx`update baskets set status = 'open', version = version + 1, updated_at = now() where id = ${row.basket_id} and status = 'locked'`;
      return toOrder(row);
    });
  }

  async completeAndCloseBasket(orderId: string): Promise<Order | undefined> {
    assertTransitions(['paid'], 'completed');
    return this.sql.begin(async (tx) => {
      const [row] = await tx<OrderRow[]>`
        update orders set state = 'completed', lease_until = null, updated_at = now()
        where id = ${orderId} and state = 'paid'
        returning ${tx.unsafe(ORDER_COLUMNS)}`;
      if (!row) return undefined;
      await tx`update baskets set status = 'closed', version = version + 1, updated_at = now() where id = ${row.basket_id} and status = 'locked'`;
      return toOrder(row);
    });
  }

  async startPayment(orderId: string, attemptId: string): Promise<{ order: Order; attempt: PaymentAttempt } | undefined> {
    assertTransitions(['placed', 'declined'], 'paying');
    return this.sql.begin(async (tx) => {
      const [row] = await tx<OrderRow[]>`
        update orders set state = 'paying', payment_attempts = payment_attempts + 1, lease_until = null, updated_at = now()
        where id = ${orderId} and state in ('placed', 'declined')
        returning ${tx.unsafe(ORDER_COLUMNS)}`;
      if (!row) return undefined;
      await tx`insert into payment_attempts (id, order_id, amount_minor) values (${attemptId}, ${orderId}, ${row.total_minor})`;
      return { order: toOrder(row), attempt: { id: attemptId, orderId, amountMinor: row.total_minor } };
    });
  }

  async finishPayment(attempt: PaymentAttempt, outcome: PaymentOutcome, upstreamPaymentId: string | null, lastError?: string): Promise<Order | undefined> {
    const next = STATE_AFTER_PAYMENT[outcome];
    assertTransitions(['paying'], next);
    return this.sql.begin(async (tx) => {
      // An attempt already judged unknown still records a late answer: it is what a person following up needs.
      await tx`
        update payment_attempts set outcome = ${outcome}, upstream_payment_id = ${upstreamPaymentId}, updated_at = now()
        where id = ${attempt.id} and outcome in ('sending', 'unknown')`;
      const [row] = await tx<OrderRow[]>`
        update orders set
          state = ${next},
          payment_id = coalesce(${outcome === 'completed' ? upstreamPaymentId : null}, payment_id),
          last_error = ${lastError ?? null},
          lease_until = null,
          updated_at = now()
        where id = ${attempt.orderId} and state = 'paying'
        returning ${tx.unsafe(ORDER_COLUMNS)}`;
      return row && toOrder(row);
    });
  }

  async markPaymentUnknown(orderId: string, reason: string): Promise<Order | undefined> {
    assertTransitions(['paying'], 'unknown');
    return this.sql.begin(async (tx) => {
      const [row] = await tx<OrderRow[]>`
        update orders set state = 'unknown', last_error = ${reason}, lease_until = null, updated_at = now()
        where id = ${orderId} and state = 'paying'
        returning ${tx.unsafe(ORDER_COLUMNS)}`;
      if (!row) return undefined;
      await tx`update payment_attempts set outcome = 'unknown', updated_at = now() where order_id = ${orderId} and outcome = 'sending'`;
      return toOrder(row);
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
            state in ('paid', 'refunding')
            or (state in ('pending', 'placed', 'paying')
                and updated_at < now() - ${claim.abandonedAfterMs}::double precision * interval '1 millisecond')
            or (state = 'declined'
                and updated_at < now() - ${claim.declinedExpiryMs}::double precision * interval '1 millisecond')
          )
        order by updated_at
        limit ${claim.limit}
        for update skip locked
      )
      returning ${this.sql.unsafe(ORDER_COLUMNS)}`;
    return rows.map(toOrder);
  }

  async releaseLease(orderId: string): Promise<void> {
    await this.sql`update orders set lease_until = null where id = ${orderId}`;
  }

  async countByState(): Promise<Record<string, number>> {
    const rows = await this.sql<{ state: string; n: number }[]>`select state, count(*)::int as n from orders group by state`;
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }
}
