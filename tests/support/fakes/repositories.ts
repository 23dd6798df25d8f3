/**
 * In-memory fakes of the repositories Checkout works through, for unit tests
 * that need no database. They keep the guarded semantics of the Postgres
 * repositories (a transition whose guard fails changes nothing and answers
 * undefined; opening an order locks the basket only at the priced version;
 * failing reopens it, completing closes it), and the database's constraints
 * as thrown errors (one live order per basket, one payment attempt in flight
 * per order, no charged order without a payment id).
 */
import { parseSealingKeys, TokenVault } from '../../../lib/credentials';
import { basketWriteRefusal, type Basket, type BasketLine } from '../../../lib/baskets/basket';
import type { BasketPage, BasketRepository } from '../../../lib/baskets/repository';
import type { Logger } from '../../../lib/logger';
import type { Order, PaymentOutcome } from '../../../lib/orders/order';
import type { HealthThresholds, Lease, OpenOrderRequest, OrderFilter, OrderPage, OrderRepository, PaymentAttempt, RefundAttempt, Resolution, StateHealth, TransitionChanges } from '../../../lib/orders/repository';
import { assertTransitions, AT_REST_STATES, CHARGED_STATES, PAYABLE_STATES, type OrderState } from '../../../lib/orders/state-machine';
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

  /** For InMemoryOrders.open: open → locked, only at the priced version. Locking does not bump the version. */
  lockIfAt(ownerId: string, basketId: string, version: number): boolean {
    const basket = this.baskets.get(basketId);
    if (!basket || basket.ownerId !== ownerId || basket.status !== 'open' || basket.version !== version) return false;
    basket.status = 'locked';
    basket.updatedAt = new Date();
    return true;
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

/** As the Postgres adapter's default (lib/orders/postgres-repository.ts). */
const LATE_EFFECT_MS = 30_000;

/** When a duplicate check falls due after a creation that may still land, if one is due at all. */
function duplicateCheckFor(order: StoredOrder, mayStillLand: boolean): Date | null {
  if (!mayStillLand || !order.createSentAt) return order.duplicateCheckAt;
  const landBy = order.createSentAt.getTime() + LATE_EFFECT_MS;
  if (landBy <= Date.now()) return order.duplicateCheckAt;
  return new Date(Math.max(order.duplicateCheckAt?.getTime() ?? landBy, landBy));
}

/** As in SQL: the owner's token stays while the order is unsettled or a duplicate check still has to act as them. */
function keepToken(order: StoredOrder, atRest: boolean, before: StoredOrder, replaceWith?: string): string | null {
  if (!atRest || before.duplicateCheckAt !== null || order.duplicateCheckAt !== before.duplicateCheckAt) return replaceWith ?? before.ownerTokenSealed;
  return null;
}

export class InMemoryOrders implements OrderRepository {
  private readonly orders = new Map<string, StoredOrder>();
  private readonly attempts: StoredAttempt[] = [];

  constructor(private readonly baskets: InMemoryBaskets) {}

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
    const { ownerId, basketId, orderId, idempotencyKey, basketVersion, totalMinor, ownerTokenSealed } = request;
    if ([...this.orders.values()].some((order) => order.basketId === basketId && order.state !== 'failed')) {
      throw new Error(`constraint orders_one_live_per_basket_idx: basket ${basketId} already has a live order`);
    }
    if (!this.baskets.lockIfAt(ownerId, basketId, basketVersion)) return undefined;
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

  async transition(orderId: string, from: readonly OrderState[], to: OrderState, changes: TransitionChanges = {}): Promise<Order | undefined> {
    assertTransitions(from, to);
    const order = this.inState(orderId, from);
    if (!order) return undefined;
    // Postgres compares updated_at at millisecond precision, as a JS Date carries it.
    if (changes.unchangedSince && order.updatedAt.getTime() !== changes.unchangedSince.getTime()) return undefined;
    // As in SQL, every SET expression sees the row as it was before the update.
    const before = { ...order };
    order.state = to;
    order.lastError = changes.lastError ?? before.lastError;
    order.upstreamOrderId = changes.upstreamOrderId ?? before.upstreamOrderId;
    order.duplicateCheckAt = duplicateCheckFor(before, changes.checkDuplicates ?? false);
    order.ownerTokenSealed = keepToken(order, AT_REST_STATES.includes(to), before, changes.ownerTokenSealed);
    if (changes.lease) {
      order.leaseUntil = inFuture(changes.lease.ms);
      order.leaseHolder = changes.lease.holder;
    }
    return this.touched(order);
  }

  async recordCreateSent(orderId: string): Promise<Order | undefined> {
    const order = this.inState(orderId, ['pending']);
    if (!order) return undefined;
    order.createSentAt = new Date();
    order.createsSent += 1;
    return this.touched(order);
  }

  async failAndReopenBasket(orderId: string, from: readonly OrderState[], reason: string, options: { onlyIfCreatesSent?: number } = {}): Promise<Order | undefined> {
    assertTransitions(from, 'failed');
    const order = this.inState(orderId, from);
    if (!order || (options.onlyIfCreatesSent !== undefined && order.createsSent !== options.onlyIfCreatesSent)) return undefined;
    const before = { ...order };
    order.state = 'failed';
    order.lastError = reason;
    order.duplicateCheckAt = duplicateCheckFor(before, before.upstreamOrderId === null || before.createsSent > 1);
    order.ownerTokenSealed = keepToken(order, true, before);
    this.baskets.releaseLock(order.basketId, 'open');
    return this.touched(order);
  }

  async completeAndCloseBasket(orderId: string): Promise<Order | undefined> {
    assertTransitions(['paid'], 'completed');
    const order = this.inState(orderId, ['paid']);
    if (!order) return undefined;
    const before = { ...order };
    order.state = 'completed';
    order.ownerTokenSealed = keepToken(order, true, before);
    order.leaseUntil = null;
    order.leaseHolder = null;
    this.baskets.releaseLock(order.basketId, 'closed');
    return this.touched(order);
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

  async startPayment(orderId: string, attemptId: string, ownerTokenSealed: string): Promise<{ order: Order; attempt: PaymentAttempt } | undefined> {
    assertTransitions(PAYABLE_STATES, 'paying');
    const order = this.inState(orderId, PAYABLE_STATES);
    if (!order) return undefined;
    if (this.attempts.some((a) => a.orderId === orderId && (a.outcome === 'sending' || a.outcome === 'pending'))) {
      throw new Error(`constraint payment_attempts_one_in_flight_idx: order ${orderId} already has a payment in flight`);
    }
    order.state = 'paying';
    order.paymentAttempts += 1;
    order.ownerTokenSealed = ownerTokenSealed;
    const attempt: PaymentAttempt = { id: attemptId, orderId, number: order.paymentAttempts, amountMinor: order.totalMinor, upstreamPaymentId: null, sentAt: new Date() };
    this.attempts.push({ ...attempt, outcome: 'sending' });
    return { order: this.touched(order), attempt };
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
      stored.outcome = 'pending';
      stored.upstreamPaymentId = upstreamPaymentId;
      const order = this.inState(stored.orderId, ['paying']);
      if (order && order.paymentAttempts === stored.number) {
        order.paymentId = upstreamPaymentId;
        this.touched(order);
      }
    }
    return { ...attempt, upstreamPaymentId };
  }

  async finishPayment(attempt: PaymentAttempt, outcome: PaymentOutcome, upstreamPaymentId: string | null, lastError?: string): Promise<Order | undefined> {
    const next = STATE_AFTER_PAYMENT[outcome];
    assertTransitions(['paying'], next);
    // An attempt already judged unknown still records a late answer; only the order's latest attempt moves it.
    const stored = this.attempts.find((a) => a.id === attempt.id && (a.outcome === 'sending' || a.outcome === 'pending' || a.outcome === 'unknown'));
    if (!stored) return undefined;
    stored.outcome = outcome;
    stored.upstreamPaymentId = upstreamPaymentId ?? stored.upstreamPaymentId;
    const order = this.inState(attempt.orderId, ['paying', 'unknown']);
    if (!order || order.paymentAttempts !== stored.number) return undefined;
    order.state = next;
    if (outcome === 'completed') order.paymentId = upstreamPaymentId ?? order.paymentId;
    order.lastError = lastError ?? null;
    return this.touched(order);
  }

  async markPaymentUnknown(attempt: PaymentAttempt, reason: string): Promise<Order | undefined> {
    assertTransitions(['paying'], 'unknown');
    // A payment the upstream answered 'pending' has an id to follow up: only one still 'sending' is unknown.
    const stored = this.attempts.find((a) => a.id === attempt.id && a.outcome === 'sending');
    if (!stored) return undefined;
    stored.outcome = 'unknown';
    const order = this.inState(attempt.orderId, ['paying']);
    if (!order || order.paymentAttempts !== stored.number) return undefined;
    order.state = 'unknown';
    order.lastError = reason;
    return this.touched(order);
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

  /** Bumps updated_at and checks the table's constraint, as every write of a row does. */
  private touched(order: StoredOrder): Order {
    if (CHARGED_STATES.includes(order.state) && order.paymentId === null) {
      throw new Error(`constraint orders check: ${order.state} order ${order.id} has no payment_id`);
    }
    order.updatedAt = new Date();
    return this.view(order);
  }

  private view(order: StoredOrder): Order {
    const { leaseUntil: _lease, leaseHolder: _holder, ...rest } = order;
    return { ...rest };
  }
}

