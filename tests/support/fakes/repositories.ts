/**
 * In-memory fakes of the repositories Checkout works through, for unit tests
 * that need no database. They keep the guarded semantics of the Postgres
 * repositories (a transition whose guard fails changes nothing and answers
 * undefined; opening an order locks the basket only at the priced version;
 * failing reopens it, completing closes it), and the database's constraints
 * as thrown errors that change nothing (order ids, one live order per basket,
 * one payment attempt in flight per order, an upstream payment id on one
 * attempt, no refund without a payment id).
 *
 * tests/contract/ holds them to the Postgres adapters' behaviour: the same
 * cases run here (tests/unit/repository-contract.test.ts) and on Postgres
 * (tests/integration/repository-contract.test.ts).
 */
import { parseSealingKeys, TokenVault } from '../../../lib/credentials';
import { basketWriteRefusal, priceBasket, type Basket, type BasketLine } from '../../../lib/baskets/basket';
import type { BasketPage, BasketRepository } from '../../../lib/baskets/repository';
import type { Logger } from '../../../lib/logger';
import type { Order, PaymentOutcome } from '../../../lib/orders/order';
import type {
  HealthThresholds,
  Lease,
  OpenOrderRequest,
  OrderFilter,
  OrderPage,
  OrderRepository,
  PaymentAttempt,
  RefundAttempt,
  Resolution,
  StartPaymentOptions,
  StateHealth,
  TransitionChanges,
} from '../../../lib/orders/repository';
import { DEFAULT_LATE_EFFECT_MS } from '../../../lib/orders/postgres-repository';
import { assertTransitions, AT_REST_STATES, PAYABLE_STATES, type OrderState } from '../../../lib/orders/state-machine';
const notUsed = (): never => {
  throw new Error('not used by checkout');
};

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** A vault with a fixed test key (as tests/unit/credentials.test.ts builds one). */
export function testVault(): TokenVault {
  return new TokenVault(parseSealingKeys(`test:${Buffer.alloc(32, 7).toString('base64')}`));
}

const copyBasket = (basket: Basket): Basket => ({ ...basket, lines: basket.lines.map((line) => ({ ...line })) });

export class InMemoryBaskets implements BasketRepository {
  private readonly baskets = new Map<string, Basket>();

  async create(ownerId: string, basketId: string): Promise<Basket> {
    if (this.baskets.has(basketId)) throw new Error(`duplicate basket id ${basketId}`);
    const now = new Date();
    const basket: Basket = { id: basketId, ownerId, status: 'open', version: 1, createdAt: now, updatedAt: now, lines: [] };
    this.baskets.set(basketId, basket);
    return copyBasket(basket);
  }

  async find(ownerId: string, basketId: string): Promise<Basket | undefined> {
    const basket = this.baskets.get(basketId);
    return basket && basket.ownerId === ownerId && basket.status !== 'discarded' ? copyBasket(basket) : undefined;
  }

  async putLine(ownerId: string, basketId: string, line: BasketLine, expectedVersion?: number): Promise<Basket> {
    if (line.quantity === 0) return this.removeLine(ownerId, basketId, line.productId, expectedVersion);
    return this.guardedWrite(ownerId, basketId, expectedVersion, (basket) => {
      const index = basket.lines.findIndex((existing) => existing.productId === line.productId);
      if (index >= 0) basket.lines[index] = { ...line };
      else basket.lines.push({ ...line });
    });
  }

  async removeLine(ownerId: string, basketId: string, productId: string, expectedVersion?: number): Promise<Basket> {
    return this.guardedWrite(ownerId, basketId, expectedVersion, (basket) => {
      basket.lines = basket.lines.filter((line) => line.productId !== productId);
    });
  }

  listOpen(): Promise<BasketPage> {
    return notUsed();
  }

  discard(): Promise<void> {
    return notUsed();
  }

  /** For InMemoryOrders.open: the owner's basket's total, if it is open, has lines and is at the expected version (open's guard). */
  lockableTotal(ownerId: string, basketId: string, expectedVersion: number | undefined): number | undefined {
    const basket = this.baskets.get(basketId);
    const lockable =
      basket !== undefined &&
      basket.ownerId === ownerId &&
      basket.status === 'open' &&
      basket.lines.length > 0 &&
      (expectedVersion === undefined || basket.version === expectedVersion);
    return lockable ? priceBasket(basket.lines).totals.gross : undefined;
  }

  /** For InMemoryOrders.open, once lockableAt: open → locked. Locking does not bump the version. */
  lock(basketId: string): void {
    const basket = this.baskets.get(basketId)!;
    basket.status = 'locked';
    basket.updatedAt = new Date();
  }

  /** For InMemoryOrders: a locked basket reopened (order failed) or closed (order completed). */
  releaseLock(basketId: string, to: 'open' | 'closed'): void {
    const basket = this.baskets.get(basketId);
    if (basket?.status !== 'locked') return;
    basket.status = to;
    basket.updatedAt = new Date();
  }

  private guardedWrite(ownerId: string, basketId: string, expectedVersion: number | undefined, change: (basket: Basket) => void): Basket {
    const basket = this.baskets.get(basketId);
    const owned = basket && basket.ownerId === ownerId ? basket : undefined;
    if (!owned || owned.status !== 'open' || (expectedVersion !== undefined && owned.version !== expectedVersion)) {
      throw basketWriteRefusal(owned, expectedVersion);
    }
    owned.version += 1;
    owned.updatedAt = new Date();
    change(owned);
    return copyBasket(owned);
  }
}

type AttemptOutcome = 'sending' | 'pending' | PaymentOutcome;

const attemptView = (stored: StoredAttempt): PaymentAttempt => ({
  id: stored.id,
  orderId: stored.orderId,
  number: stored.number,
  amountMinor: stored.amountMinor,
  upstreamPaymentId: stored.upstreamPaymentId,
  sentAt: stored.sentAt,
});

/** A payment attempt as the payment_attempts table holds it. */
export interface StoredAttempt extends PaymentAttempt {
  outcome: AttemptOutcome;
}

interface StoredOrder extends Order {
  leaseUntil: Date | null;
  leaseHolder: string | null;
}

const STATE_AFTER_PAYMENT: Record<PaymentOutcome, OrderState> = {
  completed: 'paid',
  declined: 'declined',
  no_charge: 'placed',
  unknown: 'unknown',
};

const inFuture = (ms: number | undefined) => (ms === undefined ? null : new Date(Date.now() + ms));

/** When a duplicate check falls due after a creation that may still land, if one is due at all. */
function duplicateCheckFor(order: StoredOrder, mayStillLand: boolean, lateEffectMs: number): Date | null {
  if (!mayStillLand || !order.createSentAt) return order.duplicateCheckAt;
  const landBy = order.createSentAt.getTime() + lateEffectMs;
  if (landBy <= Date.now()) return order.duplicateCheckAt;
  return new Date(Math.max(order.duplicateCheckAt?.getTime() ?? landBy, landBy));
}

/** As in SQL: the owner's token stays while the order is unsettled or a duplicate check still has to act as them. */
function keepToken(order: StoredOrder, atRest: boolean, before: StoredOrder, replaceWith?: string): string | null {
  if (!atRest || before.duplicateCheckAt !== null || order.duplicateCheckAt !== before.duplicateCheckAt)
    return replaceWith ?? before.ownerTokenSealed;
  return null;
}

/** The orders table's check (migration 005): only a refund needs the payment's id; an order resolved as charged may lack one. */
const NEED_PAYMENT_ID: readonly OrderState[] = ['refunding', 'refunded'];

export interface InMemoryOrdersOptions {
  /** As PostgresOrderRepository's: how long after it was sent an order creation may still land upstream. */
  lateEffectMs?: number;
}

export class InMemoryOrders implements OrderRepository {
  private readonly orders = new Map<string, StoredOrder>();
  private readonly attempts: StoredAttempt[] = [];
  private readonly lateEffectMs: number;

  constructor(
    private readonly baskets: InMemoryBaskets,
    options: InMemoryOrdersOptions = {},
  ) {
    this.lateEffectMs = options.lateEffectMs ?? DEFAULT_LATE_EFFECT_MS;
  }

  /** The payment attempts recorded for an order, oldest first (for assertions). */
  attemptsOf(orderId: string): StoredAttempt[] {
    return this.attempts.filter((attempt) => attempt.orderId === orderId).map((attempt) => ({ ...attempt }));
  }

  /** Every order of a basket, failed ones included, oldest first (for assertions). */
  ordersOfBasket(basketId: string): Order[] {
    return [...this.orders.values()].filter((order) => order.basketId === basketId).map((order) => this.view(order));
  }

  /** Whether someone holds the order's lease now (for assertions). */
  leaseHeld(orderId: string): boolean {
    const leaseUntil = this.orders.get(orderId)?.leaseUntil;
    return leaseUntil != null && leaseUntil.getTime() > Date.now();
  }

  async open(request: OpenOrderRequest): Promise<Order | undefined> {
    const { ownerId, basketId, orderId, idempotencyKey, expectedBasketVersion, ownerTokenSealed, key } = request;
    // As the one statement: the key first (nothing is opened without it), then a basket its guard refuses
    // (empty, changed, locked by a live order, closed, gone) inserts nothing; only a row that would be
    // inserted meets the table's constraints, and then nothing is locked either.
    await key?.take();
    const totalMinor = this.baskets.lockableTotal(ownerId, basketId, expectedBasketVersion);
    if (totalMinor === undefined) return undefined;
    if (this.orders.has(orderId)) throw new Error(`constraint orders_pkey: order ${orderId} already exists`);
    if ([...this.orders.values()].some((order) => order.basketId === basketId && order.state !== 'failed')) {
      throw new Error(`constraint orders_one_live_per_basket_idx: basket ${basketId} already has a live order`);
    }
    this.baskets.lock(basketId);
    const now = new Date();
    const order: StoredOrder = {
      id: orderId,
      ownerId,
      basketId,
      state: 'pending',
      totalMinor,
      openedByKey: idempotencyKey,
      upstreamOrderId: null,
      paymentId: null,
      paymentAttempts: 0,
      lastError: null,
      ownerTokenSealed,
      duplicateCheckAt: null,
      createSentAt: now,
      createsSent: 1,
      createdAt: now,
      updatedAt: now,
      leaseUntil: null,
      leaseHolder: null,
    };
    this.orders.set(orderId, order);
    return this.view(order);
  }

  async find(ownerId: string, orderId: string): Promise<Order | undefined> {
    const order = this.orders.get(orderId);
    return order && order.ownerId === ownerId ? this.view(order) : undefined;
  }

  async findById(orderId: string): Promise<Order | undefined> {
    const order = this.orders.get(orderId);
    return order && this.view(order);
  }

  async findLiveForBasket(ownerId: string, basketId: string): Promise<Order | undefined> {
    const order = [...this.orders.values()].find((o) => o.basketId === basketId && o.ownerId === ownerId && o.state !== 'failed');
    return order && this.view(order);
  }

  async transition(
    orderId: string,
    from: readonly OrderState[],
    to: OrderState,
    changes: TransitionChanges = {},
  ): Promise<Order | undefined> {
    assertTransitions(from, to);
    const before = this.inState(orderId, from);
    if (!before) return undefined;
    // Postgres compares updated_at at millisecond precision, as a JS Date carries it.
    if (changes.unchangedSince && before.updatedAt.getTime() !== changes.unchangedSince.getTime()) return undefined;
    const mayStillLand = mayLeaveDuplicates(before, changes.checkDuplicates ?? false, changes.upstreamOrderId !== undefined);
    // As in SQL, every SET expression sees the row as it was before the update.
    return this.update(before, (order) => {
      order.state = to;
      order.lastError = changes.lastError ?? before.lastError;
      order.upstreamOrderId = changes.upstreamOrderId ?? before.upstreamOrderId;
      order.duplicateCheckAt = duplicateCheckFor(before, mayStillLand, this.lateEffectMs);
      order.ownerTokenSealed = keepToken(order, AT_REST_STATES.includes(to), before, changes.ownerTokenSealed);
      if (changes.lease) {
        order.leaseUntil = inFuture(changes.lease.ms);
        order.leaseHolder = changes.lease.holder;
      }
    });
  }

  async recordCreateSent(orderId: string): Promise<Order | undefined> {
    const before = this.inState(orderId, ['pending']);
    if (!before) return undefined;
    return this.update(before, (order) => {
      order.createSentAt = new Date();
      order.createsSent += 1;
    });
  }

  async failAndReopenBasket(
    orderId: string,
    from: readonly OrderState[],
    reason: string,
    options: { onlyIfCreatesSent?: number } = {},
  ): Promise<Order | undefined> {
    assertTransitions(from, 'failed');
    const before = this.inState(orderId, from);
    if (!before || (options.onlyIfCreatesSent !== undefined && before.createsSent !== options.onlyIfCreatesSent)) return undefined;
    // A creation may still land if the order never adopted an upstream order, or more than one was sent.
    const failed = this.update(before, (order) => {
      order.state = 'failed';
      order.lastError = reason;
      order.duplicateCheckAt = duplicateCheckFor(before, before.upstreamOrderId === null || before.createsSent > 1, this.lateEffectMs);
      order.ownerTokenSealed = keepToken(order, true, before);
    });
    this.baskets.releaseLock(before.basketId, 'open');
    return failed;
  }

  async completeAndCloseBasket(orderId: string): Promise<Order | undefined> {
    assertTransitions(['paid'], 'completed');
    const before = this.inState(orderId, ['paid']);
    if (!before) return undefined;
    const completed = this.update(before, (order) => {
      order.state = 'completed';
      order.ownerTokenSealed = keepToken(order, true, before);
      order.leaseUntil = null;
      order.leaseHolder = null;
    });
    this.baskets.releaseLock(before.basketId, 'closed');
    return completed;
  }

  async claimLease(orderId: string, lease: Lease): Promise<Order | undefined> {
    const order = this.orders.get(orderId);
    if (!order || this.leaseHeld(orderId)) return undefined;
    order.leaseUntil = inFuture(lease.ms);
    order.leaseHolder = lease.holder;
    return this.view(order); // taking the lease does not touch updated_at
  }

  async releaseLease(orderId: string, holder: string): Promise<void> {
    const order = this.orders.get(orderId);
    if (order && order.leaseHolder === holder) {
      order.leaseUntil = null;
      order.leaseHolder = null;
    }
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
    await key?.take();
    const before = this.inState(orderId, from);
    if (!before || (ownerId !== undefined && before.ownerId !== ownerId)) return undefined;
    if (this.attempts.some((a) => a.orderId === orderId && (a.outcome === 'sending' || a.outcome === 'pending'))) {
      throw new Error(`constraint payment_attempts_one_in_flight_idx: order ${orderId} already has a payment in flight`);
    }
    if (this.attempts.some((a) => a.id === attemptId))
      throw new Error(`constraint payment_attempts_pkey: attempt ${attemptId} already exists`);
    const mayStillLand = mayLeaveDuplicates(before, adopting?.checkDuplicates ?? false, adopting !== undefined);
    const order = this.update(before, (next) => {
      next.state = 'paying';
      next.paymentAttempts += 1;
      next.ownerTokenSealed = ownerTokenSealed;
      if (adopting) {
        next.upstreamOrderId = adopting.upstreamOrderId;
        next.duplicateCheckAt = duplicateCheckFor(before, mayStillLand, this.lateEffectMs);
      }
    });
    const attempt: PaymentAttempt = {
      id: attemptId,
      orderId,
      number: order.paymentAttempts,
      amountMinor: order.totalMinor,
      upstreamPaymentId: null,
      sentAt: new Date(),
    };
    this.attempts.push({ ...attempt, outcome: 'sending' });
    return { order, attempt };
  }

  async paymentInFlight(orderId: string): Promise<PaymentAttempt | undefined> {
    const stored = this.attempts.find((a) => a.orderId === orderId && (a.outcome === 'sending' || a.outcome === 'pending'));
    return stored && attemptView(stored);
  }

  async latestPayment(orderId: string): Promise<(PaymentAttempt & { outcome: string }) | undefined> {
    const stored = this.attempts.filter((a) => a.orderId === orderId).at(-1);
    return stored && { ...attemptView(stored), outcome: stored.outcome };
  }

  async recordPendingPayment(attempt: PaymentAttempt, upstreamPaymentId: string): Promise<PaymentAttempt> {
    const stored = this.attempts.find((a) => a.id === attempt.id && a.outcome === 'sending');
    if (stored) {
      this.assertPaymentIdFree(upstreamPaymentId, stored);
      stored.outcome = 'pending';
      stored.upstreamPaymentId = upstreamPaymentId;
      const order = this.inState(stored.orderId, ['paying']);
      if (order && order.paymentAttempts === stored.number) {
        this.update(order, (next) => {
          next.paymentId = upstreamPaymentId;
        });
      }
    }
    return { ...attempt, upstreamPaymentId };
  }

  async finishPayment(
    attempt: PaymentAttempt,
    outcome: PaymentOutcome,
    upstreamPaymentId: string | null,
    lastError?: string,
  ): Promise<Order | undefined> {
    const next = STATE_AFTER_PAYMENT[outcome];
    assertTransitions(['paying'], next);
    if (next !== 'unknown') assertTransitions(['unknown'], next);
    // An attempt already judged unknown still records a late answer; only the order's latest attempt moves it.
    const stored = this.attempts.find(
      (a) => a.id === attempt.id && (a.outcome === 'sending' || a.outcome === 'pending' || a.outcome === 'unknown'),
    );
    if (!stored) return undefined;
    if (upstreamPaymentId !== null) this.assertPaymentIdFree(upstreamPaymentId, stored);
    stored.outcome = outcome;
    stored.upstreamPaymentId = upstreamPaymentId ?? stored.upstreamPaymentId;
    const order = this.inState(stored.orderId, ['paying', 'unknown']);
    if (!order || order.paymentAttempts !== stored.number) return undefined;
    return this.update(order, (moved) => {
      moved.state = next;
      if (outcome === 'completed') moved.paymentId = upstreamPaymentId ?? order.paymentId;
      moved.lastError = lastError ?? null;
    });
  }

  async markPaymentUnknown(attempt: PaymentAttempt, reason: string): Promise<Order | undefined> {
    assertTransitions(['paying'], 'unknown');
    // A payment the upstream answered 'pending' has an id to follow up: only one still 'sending' is unknown.
    const stored = this.attempts.find((a) => a.id === attempt.id && a.outcome === 'sending');
    if (!stored) return undefined;
    stored.outcome = 'unknown';
    const order = this.inState(stored.orderId, ['paying']);
    if (!order || order.paymentAttempts !== stored.number) return undefined;
    return this.update(order, (next) => {
      next.state = 'unknown';
      next.lastError = reason;
    });
  }

  openRefund(): Promise<RefundAttempt | undefined> {
    return notUsed();
  }
  startRefund(): Promise<RefundAttempt | undefined> {
    return notUsed();
  }
  finishRefund(): Promise<Order | undefined> {
    return notUsed();
  }
  listForOwner(_ownerId: string, _filter: OrderFilter): Promise<OrderPage> {
    return notUsed();
  }
  listNeedingAttention(): Promise<OrderPage> {
    return notUsed();
  }
  resolve(_resolution: Omit<Resolution, 'resolvedAt'>, _to: OrderState): Promise<Order | undefined> {
    return notUsed();
  }
  findResolutions(): Promise<Resolution[]> {
    return notUsed();
  }
  claimForReconcile(): Promise<Order[]> {
    return notUsed();
  }
  clearDuplicateCheck(): Promise<void> {
    return notUsed();
  }
  tokensSealedUnder(): Promise<Array<{ orderId: string; sealed: string }>> {
    return notUsed();
  }
  replaceSealedToken(): Promise<boolean> {
    return notUsed();
  }
  sealedTokensByKey(): Promise<Record<string, number>> {
    return notUsed();
  }
  healthByState(_thresholds: HealthThresholds): Promise<Partial<Record<OrderState, StateHealth>>> {
    return notUsed();
  }

  private inState(orderId: string, from: readonly OrderState[]): StoredOrder | undefined {
    const order = this.orders.get(orderId);
    return order && from.includes(order.state) ? order : undefined;
  }

  /**
   * One guarded UPDATE of the row: `change` is applied to a copy, which bumps updated_at and is stored
   * only if it meets the table's check; a write the check refuses throws and changes nothing.
   */
  private update(before: StoredOrder, change: (order: StoredOrder) => void): Order {
    const order: StoredOrder = { ...before };
    change(order);
    if (NEED_PAYMENT_ID.includes(order.state) && order.paymentId === null) {
      throw new Error(`constraint orders_refund_needs_payment_check: ${order.state} order ${order.id} has no payment_id`);
    }
    order.updatedAt = new Date();
    this.orders.set(order.id, order);
    return this.view(order);
  }

  /** The payment_attempts_upstream_idx constraint: an upstream payment belongs to one attempt. */
  private assertPaymentIdFree(upstreamPaymentId: string, attempt: StoredAttempt): void {
    if (this.attempts.some((other) => other !== attempt && other.upstreamPaymentId === upstreamPaymentId)) {
      throw new Error(`constraint payment_attempts_upstream_idx: payment ${upstreamPaymentId} belongs to another attempt`);
    }
  }

  private view(order: StoredOrder): Order {
    const { leaseUntil: _lease, leaseHolder: _holder, ...rest } = order;
    return { ...rest };
  }
}

/** As PostgresOrderRepository's: another create may still land, asked for, or, adopting an upstream order, another create was sent (by any actor). */
function mayLeaveDuplicates(before: StoredOrder, checkDuplicates: boolean, adopting: boolean): boolean {
  return checkDuplicates || (adopting && before.createsSent > 1);
}
