import { PosApiError, PosTransportError } from './errors.js';
import { send, type FetchLike } from './http.js';
import { newIdempotencyKey } from './keys.js';
import type { Operation, Outcome, PendingReason, Resumable, RetryLater } from './outcomes.js';
import { Budget, sleep as realSleep, untilDecided, verdictFor, type RetryTiming, type Run, type Safety } from './retry.js';
import type {
  Basket,
  BasketPage,
  JsonAnswer,
  MethodOf,
  Order,
  OrderPage,
  OrderStatus,
  PathParams,
  paths,
  Product,
  QueryOf,
} from './types.js';

export interface PosClientOptions {
  /** Where the service answers, e.g. https://pos.example.com or http://127.0.0.1:3000. */
  baseUrl: string;
  /** The cashier's token (sent as x-auth-user), or a function asked for it before every request (to refresh it). */
  token: string | (() => string | Promise<string>);
  /** The platform's fetch unless given: a test's fake, a logging wrapper. */
  fetch?: FetchLike;
  /** Default budget of an operation, retries and waits included (30 s). Each call may pass its own. */
  budgetMs?: number;
  /** Longest one request waits for its answer (30 s: the service answers within 25 s, its gateway gives up at 29–30 s). */
  attemptTimeoutMs?: number;
  /** Backoff when the service gives no Retry-After: a random wait up to base · 2^(retry − 1), at most max (250 ms, 5 s). */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Math.random unless given (tests pass a seeded one). */
  random?: () => number;
  /** Date.now unless given. */
  now?: () => number;
  /** setTimeout unless given (tests pass one that moves a fake clock). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A new Idempotency-Key (a random UUID unless given). */
  newKey?: () => string;
}

export interface CallOptions {
  /** Longest the call may take, retries and waits included; the client's budgetMs unless given. */
  budgetMs?: number;
  /** Aborting it ends the call: a read throws, an order operation answers retry-later. */
  signal?: AbortSignal;
}

/** A basket version: a number, or the basket itself (its `version`). */
export type Version = number | { version: number };

export interface WriteOptions extends CallOptions {
  /** Write only if the basket is still at this version (If-Match); otherwise VERSION_MISMATCH. */
  ifMatch?: Version;
}

export interface PayingOptions extends CallOptions {
  /**
   * The Idempotency-Key: leave it out for a new operation (the client makes
   * one); pass the key of a retry-later outcome to resume that operation.
   */
  key?: string;
}

export interface CheckoutOptions extends PayingOptions {
  /** Order the basket only if it is still at this version (what the cashier showed the customer). */
  ifMatch?: Version;
}

/** The route templates the client calls; each must be a path of the generated document (checked when compiling). */
const ROUTES = {
  products: '/products',
  baskets: '/baskets',
  basket: '/baskets/{basketId}',
  basketItem: '/baskets/{basketId}/items/{productId}',
  basketOrders: '/baskets/{basketId}/orders',
  orders: '/orders',
  order: '/orders/{orderId}',
  orderPayments: '/orders/{orderId}/payments',
  orderRefund: '/orders/{orderId}/refund',
} as const satisfies Record<string, keyof paths>;

type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One request of the API, built once per operation: every retry sends exactly this (its Idempotency-Key included). */
interface Request {
  method: HttpMethod;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Order states in which something is still under way: a read later says more. */
const IN_FLIGHT: readonly OrderStatus[] = ['pending', 'paying'];
/** Error codes that name an order whose state says more than the code: the answer is read from the order. */
const ANSWERED_BY_THE_ORDER = new Set(['ORDER_STATE_CONFLICT', 'BASKET_LOCKED', 'BASKET_CLOSED', 'UPSTREAM_ERROR']);

/**
 * The POS basket service, for a terminal: reads and basket writes that
 * return the body or throw a PosApiError (after retrying what is safe to
 * retry), and order operations (checkout, prepare, pay, cancel, refund) that
 * never throw for anything the service or the network does: they answer an
 * Outcome that says what happened to the money.
 *
 * Each order operation is one request, sent again until an answer decides
 * something or the budget runs out: always with the same Idempotency-Key
 * (the service's guard against paying twice), after what Retry-After asks
 * or a jittered backoff, and only where it is safe (see verdictFor in
 * retry.ts). A decline or an unknown payment is never retried.
 */
export class PosClient {
  private readonly baseUrl: string;
  private readonly fetch: FetchLike;
  private readonly budgetMs: number;
  private readonly timing: RetryTiming;
  private readonly newKey: () => string;

  constructor(private readonly options: PosClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const platformFetch = globalThis.fetch;
    this.fetch = options.fetch ?? ((url, init) => platformFetch(url, init));
    this.budgetMs = options.budgetMs ?? 30_000;
    this.timing = {
      attemptTimeoutMs: options.attemptTimeoutMs ?? 30_000,
      baseDelayMs: options.backoff?.baseMs ?? 250,
      maxDelayMs: options.backoff?.maxMs ?? 5_000,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      sleep: options.sleep ?? realSleep,
    };
    this.newKey = options.newKey ?? newIdempotencyKey;
  }

  // ---- reads ----

  async products(options: CallOptions = {}): Promise<Product[]> {
    const page = await this.read<JsonAnswer<'products', 200>>(this.request('get', ROUTES.products, {}), options);
    return page.products;
  }

  getBasket(basketId: string, options: CallOptions = {}): Promise<Basket> {
    return this.read(this.request('get', ROUTES.basket, { basketId }), options);
  }

  /** The caller's open baskets, newest first; pass nextCursor as `after` for the next page. */
  listBaskets(query: QueryOf<'listBaskets'> = {}, options: CallOptions = {}): Promise<BasketPage> {
    return this.read(this.request('get', ROUTES.baskets, {}, { query }), options);
  }

  getOrder(orderId: string, options: CallOptions = {}): Promise<Order> {
    return this.read(this.request('get', ROUTES.order, { orderId }), options);
  }

  /** The caller's orders, newest first; `state` is comma-separated (e.g. "declined,unknown"). */
  listOrders(query: QueryOf<'listOrders'> = {}, options: CallOptions = {}): Promise<OrderPage> {
    return this.read(this.request('get', ROUTES.orders, {}, { query }), options);
  }

  // ---- basket writes ----

  /**
   * A new empty basket. Not idempotent, so it is sent again only when it
   * provably never arrived (connection refused, throttled): after a lost
   * answer it throws, and the caller may find the basket in listBaskets().
   */
  createBasket(options: CallOptions = {}): Promise<Basket> {
    return this.read(this.request('post', ROUTES.baskets, {}), options, 'once');
  }

  /** Sets a line's quantity (0 removes it). With ifMatch the write is conditional on the basket's version. */
  setItem(basketId: string, productId: string, quantity: number, options: WriteOptions = {}): Promise<Basket> {
    const request = this.request('put', ROUTES.basketItem, { basketId, productId }, { ifMatch: options.ifMatch, body: { quantity } });
    return this.conditionalWrite(request, basketId, options, (basket) => lineQuantity(basket, productId) === quantity);
  }

  removeItem(basketId: string, productId: string, options: WriteOptions = {}): Promise<Basket> {
    const request = this.request('delete', ROUTES.basketItem, { basketId, productId }, { ifMatch: options.ifMatch });
    return this.conditionalWrite(request, basketId, options, (basket) => lineQuantity(basket, productId) === 0);
  }

  /** Discards an open basket (discarding it twice is not an error). */
  async discardBasket(basketId: string, options: WriteOptions = {}): Promise<void> {
    await this.read<undefined>(this.request('delete', ROUTES.basket, { basketId }, { ifMatch: options.ifMatch }), options);
  }

  // ---- order operations ----

  /**
   * Orders and pays the basket in one call. Answers paid, declined (pay
   * again with pay(orderId) when the customer offers another card), unknown
   * (ask a supervisor), cancelled, refused, or retry-later (resume it).
   */
  checkout(basketId: string, options: CheckoutOptions = {}): Promise<Outcome> {
    return this.resume({ operation: 'checkout', id: basketId, key: options.key, ifMatch: versionOf(options.ifMatch) }, options);
  }

  /** Prepares the order (created upstream, basket locked, nothing charged) while the customer gets the card out: answers prepared. */
  prepare(basketId: string, options: CheckoutOptions = {}): Promise<Outcome> {
    return this.resume({ operation: 'prepare', id: basketId, key: options.key, ifMatch: versionOf(options.ifMatch) }, options);
  }

  /** Pays a prepared order, or a declined one again: a new payment, under a new key unless `key` resumes one. Answers like checkout. */
  pay(orderId: string, options: PayingOptions = {}): Promise<Outcome> {
    return this.resume({ operation: 'pay', id: orderId, key: options.key }, options);
  }

  /** Cancels an unpaid order (the customer changed their mind): answers cancelled, or what the order came to if it was paid meanwhile. */
  cancel(orderId: string, options: CallOptions = {}): Promise<Outcome> {
    return this.resume({ operation: 'cancel', id: orderId }, options);
  }

  /** Refunds a paid order: answers refunded. Repeating it is harmless: one refund is ever sent per payment. */
  refund(orderId: string, options: CallOptions = {}): Promise<Outcome> {
    return this.resume({ operation: 'refund', id: orderId }, options);
  }

  /**
   * Runs an order operation: a new one, or one that ended retry-later again
   * (outcome.resume), the same request under the same key.
   */
  async resume(operation: Resumable, options: CallOptions = {}): Promise<Outcome> {
    const resumable: Resumable = { ...operation };
    if (usesKey(operation.operation)) resumable.key = operation.key ?? this.newKey();
    const budget = new Budget(this.timing.now, options.budgetMs ?? this.budgetMs, options.signal);
    const run = await this.run(this.orderRequest(resumable), safetyOf(resumable.operation), budget, usesKey(resumable.operation));
    return new Settling(resumable, run, (orderId) => this.orderAtRest(orderId, budget)).outcome();
  }

  // ---- internals ----

  private orderRequest(operation: Resumable): Request {
    const keyed = { key: operation.key, ifMatch: operation.ifMatch };
    switch (operation.operation) {
      case 'checkout':
        return this.request('post', ROUTES.basketOrders, { basketId: operation.id }, keyed);
      case 'prepare':
        return this.request('post', ROUTES.basketOrders, { basketId: operation.id }, { ...keyed, body: { pay: false } });
      case 'pay':
        return this.request('post', ROUTES.orderPayments, { orderId: operation.id }, keyed);
      case 'cancel':
        return this.request('delete', ROUTES.order, { orderId: operation.id });
      case 'refund':
        return this.request('post', ROUTES.orderRefund, { orderId: operation.id });
    }
  }

  /** Builds a request from a route template of the document; its path parameters are typed from it. */
  private request<P extends keyof paths, M extends MethodOf<P>>(
    method: M,
    template: P,
    params: PathParams<P, M>,
    extra: { key?: string; ifMatch?: Version; body?: unknown; query?: Record<string, string | number | undefined> } = {},
  ): Request {
    let path: string = template.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(String((params as Record<string, unknown>)[name])),
    );
    const query = Object.entries(extra.query ?? {}).filter(([, value]) => value !== undefined);
    if (query.length > 0)
      path += `?${new URLSearchParams(query.map(([name, value]): [string, string] => [name, String(value)])).toString()}`;
    const headers: Record<string, string> = {};
    if (extra.key !== undefined) headers['idempotency-key'] = extra.key;
    if (extra.ifMatch !== undefined) headers['if-match'] = `"${versionOf(extra.ifMatch)}"`;
    if (extra.body !== undefined) headers['content-type'] = 'application/json';
    const body = extra.body === undefined ? undefined : JSON.stringify(extra.body);
    return { method: method.toUpperCase() as HttpMethod, path, headers, body };
  }

  /** Sends the request until an answer decides something or the budget runs out. */
  private run(request: Request, safety: Safety, budget: Budget, followPending = false): Promise<Run> {
    const attempt = async (timeoutMs: number) =>
      send(
        this.fetch,
        {
          url: `${this.baseUrl}${request.path}`,
          method: request.method,
          headers: { ...request.headers, 'x-auth-user': await this.token() },
          body: request.body,
          timeoutMs,
          signal: budget.signal,
        },
        this.timing.now,
      );
    return untilDecided(attempt, (result) => verdictFor(result, safety, { followPending }), this.timing, budget);
  }

  /** A read (or a basket write): its body, or the error that decided it, thrown. */
  private async read<T>(request: Request, options: CallOptions, safety: Safety = 'idempotent'): Promise<T> {
    const budget = new Budget(this.timing.now, options.budgetMs ?? this.budgetMs, options.signal);
    return bodyOf<T>(await this.run(request, safety, budget));
  }

  /**
   * A basket write with If-Match. When an attempt before got no answer and
   * the next is refused with VERSION_MISMATCH, the first may have been
   * applied (bumping the version): the basket is read, and if it is exactly
   * one version on with the line as asked, the write landed and its basket is
   * the answer.
   */
  private async conditionalWrite(
    request: Request,
    basketId: string,
    options: WriteOptions,
    landed: (basket: Basket) => boolean,
  ): Promise<Basket> {
    const budget = new Budget(this.timing.now, options.budgetMs ?? this.budgetMs, options.signal);
    const run = await this.run(request, 'idempotent', budget);
    const expected = versionOf(options.ifMatch);
    const last = run.last;
    if (expected !== undefined && run.earlierAmbiguous && !(last instanceof PosTransportError) && last.status === 412) {
      const basket = await this.run(this.request('get', ROUTES.basket, { basketId }), 'idempotent', budget)
        .then((read) => bodyOf<Basket>(read))
        .catch(() => undefined);
      if (basket && basket.version === expected + 1 && landed(basket)) return basket;
    }
    return bodyOf<Basket>(run);
  }

  /** The order as it is now, waiting while something is under way on it (pending, paying) as long as the budget allows; undefined if it cannot be read. */
  private async orderAtRest(orderId: string, budget: Budget): Promise<Order | undefined> {
    for (let wait = this.timing.baseDelayMs; ; wait = Math.min(wait * 2, this.timing.maxDelayMs)) {
      if (!budget.canSend()) return undefined;
      const order = await this.run(this.request('get', ROUTES.order, { orderId }), 'idempotent', budget)
        .then((read) => bodyOf<Order>(read))
        .catch(() => undefined);
      if (!order || !IN_FLIGHT.includes(order.status)) return order;
      const pause = wait / 2 + (this.timing.random() * wait) / 2;
      if (budget.remainingMs() - pause < 2 * this.timing.baseDelayMs) return order;
      await this.timing.sleep(pause, budget.signal);
    }
  }

  private async token(): Promise<string> {
    const token = this.options.token;
    return typeof token === 'function' ? token() : token;
  }
}

/**
 * What one order operation came to, from its last answer: the kind the
 * answer states (201 paid, 402 declined, 502 unknown), or, when the answer
 * names an order whose state says more (a conflict, a basket another
 * checkout holds, an upstream refusal), the kind the order's state states.
 */
class Settling {
  constructor(
    private readonly operation: Resumable,
    private readonly run: Run,
    /** The order as it is now (waiting while it is in flight, within the budget), or undefined. */
    private readonly orderAtRest: (orderId: string) => Promise<Order | undefined>,
  ) {}

  async outcome(): Promise<Outcome> {
    const last = this.run.last;
    if (last instanceof PosTransportError)
      return this.retryLater(this.run.undecided ?? (last.reason === 'aborted' ? 'aborted' : 'no answer'), { cause: last });
    const body = last.body as Order | undefined;
    if (this.run.undecided) {
      const error = last.status >= 400 ? new PosApiError(last) : undefined;
      return this.retryLater(this.run.undecided, {
        cause: error,
        order: error ? undefined : body,
        orderId: error?.orderId ?? body?.id,
        retryAfterMs: last.retryAfterMs,
      });
    }
    if (last.status < 300) {
      if (isOrder(body)) return this.byOrderState(body);
      // A success that is not the service's (a proxy's page, say) decides nothing: ask again with the same request.
      return this.retryLater('server error', {});
    }
    const error = new PosApiError(last);
    const orderId =
      error.orderId ?? (this.operation.operation === 'checkout' || this.operation.operation === 'prepare' ? undefined : this.operation.id);
    const readOrder = () => (orderId ? this.orderAtRest(orderId) : Promise.resolve(undefined));
    if (error.code === 'PAYMENT_DECLINED' && orderId) {
      const order = await readOrder();
      return {
        ...this.common(),
        kind: 'declined',
        orderId,
        order,
        error,
        message: 'Declined: nothing was charged. Pay again only if the customer offers another card.',
      };
    }
    if (error.code === 'PAYMENT_STATUS_UNKNOWN') {
      const order = await readOrder();
      return { ...this.common(), kind: 'unknown', orderId, order, error, message: UNKNOWN_MESSAGE };
    }
    if (this.operation.operation === 'refund' && error.code === 'UPSTREAM_ERROR')
      return { ...this.common(), kind: 'refused', error, orderId, message: `Not refunded: ${error.message}` };
    if (ANSWERED_BY_THE_ORDER.has(error.code) && orderId) {
      const order = await readOrder();
      if (order) return this.byOrderState(order, error);
    }
    if (error.code === 'UPSTREAM_ERROR')
      return { ...this.common(), kind: 'cancelled', orderId, error, message: `Nothing was charged: ${error.message}` };
    return { ...this.common(), kind: 'refused', orderId, error, message: error.message };
  }

  /** The outcome an order's state states. */
  private async byOrderState(order: Order, error?: PosApiError): Promise<Outcome> {
    const common = { ...this.common(), orderId: order.id, order, ...(error ? { error } : {}) };
    switch (order.status) {
      case 'paid':
      case 'completed':
        return { ...common, kind: 'paid', message: 'Paid.' };
      case 'refunding':
        if (this.operation.operation === 'refund') return this.retryLater('order in flight', { order, orderId: order.id });
        return { ...common, kind: 'paid', message: 'Paid; a refund of it is under way.' };
      case 'refunded':
        return { ...common, kind: 'refunded', message: 'Refunded: the money went back to the customer.' };
      case 'placed':
        return { ...common, kind: 'prepared', message: 'Prepared: nothing charged yet. Pay it, or cancel it.' };
      case 'declined':
        return {
          ...common,
          kind: 'declined',
          message: 'Declined: nothing was charged. Pay again only if the customer offers another card.',
        };
      case 'unknown':
        return { ...common, kind: 'unknown', message: UNKNOWN_MESSAGE };
      case 'failing':
      case 'failed':
        return { ...common, kind: 'cancelled', message: 'Cancelled: nothing was charged; the basket is open again for a new checkout.' };
      case 'pending':
      case 'paying': {
        const settled = await this.orderAtRest(order.id);
        if (settled && !IN_FLIGHT.includes(settled.status)) return this.byOrderState(settled, error);
        return this.retryLater('order in flight', { order: settled ?? order, orderId: order.id, cause: error });
      }
    }
  }

  private retryLater(reason: PendingReason, details: Pick<RetryLater, 'cause' | 'order' | 'orderId' | 'retryAfterMs'>): RetryLater {
    return {
      ...this.common(),
      kind: 'retry-later',
      reason,
      key: this.operation.key,
      ...details,
      message: `Not known yet (${reason}). Nothing is lost: resume the ${this.operation.operation}${this.operation.key ? ' with the same key' : ''} to learn how it ended; do not start another meanwhile.`,
    };
  }

  private common() {
    const last = this.run.last;
    const answer = last instanceof PosTransportError ? undefined : last;
    return {
      resume: this.operation,
      attempts: this.run.attempts,
      retries: this.run.retries,
      replayed: answer?.replayed ?? false,
      requestId: answer?.requestId,
    };
  }
}

const UNKNOWN_MESSAGE =
  'Payment status unknown: the customer may or may not have been charged. Do not pay again; ask a supervisor to check the order.';

/** The body of a decided run, or what decided it thrown: the service's error, or the failure to get an answer. */
function bodyOf<T>(run: Run): T {
  const last = run.last;
  if (last instanceof PosTransportError) throw last;
  if (last.status >= 400) throw new PosApiError(last);
  return last.body as T;
}

/** Every order status, so a body is recognised as an order (and a status the generated types gain is a compile error here). */
const ORDER_STATUSES: Record<OrderStatus, true> = {
  pending: true,
  placed: true,
  paying: true,
  declined: true,
  failing: true,
  paid: true,
  completed: true,
  refunding: true,
  failed: true,
  unknown: true,
  refunded: true,
};

function isOrder(body: unknown): body is Order {
  if (typeof body !== 'object' || body === null) return false;
  const { id, status } = body as { id?: unknown; status?: unknown };
  return typeof id === 'string' && typeof status === 'string' && Object.hasOwn(ORDER_STATUSES, status);
}

function usesKey(operation: Operation): boolean {
  return operation === 'checkout' || operation === 'prepare' || operation === 'pay';
}

function safetyOf(operation: Operation): Safety {
  return usesKey(operation) ? 'same-key' : 'idempotent';
}

function versionOf(version: Version | undefined): number | undefined {
  return typeof version === 'object' ? version.version : version;
}

function lineQuantity(basket: Basket, productId: string): number {
  return basket.lines.find((line) => line.productId === productId)?.quantity ?? 0;
}
