import { randomUUID } from 'node:crypto';
import { DEFAULT_PRODUCTS } from './catalogue';
import { elysiaReport } from './elysia-report';
import type { Reply } from './http';
import { matchRoute, routeTable } from './routing';
import type { SimulatorState } from './state';
import type { Order, OrderStatus, Payment, Refund, UpstreamProfile } from './types';
import { number, oneOf, optional, string, validateBody, type Field, type ValidationIssue } from './validation';

export interface UpstreamRequest {
  method: string;
  path: string;
  user: string;
  rawBody: string;
  /** Whether a payment made by this request is declined. */
  declined: boolean;
  /** The reading of the request's user. */
  profile: UpstreamProfile;
  state: SimulatorState;
}

export interface UpstreamReply extends Reply {
  /** Whether the request changed the upstream's state. */
  effectApplied: boolean;
  /** Whether the request made a payment that is declined (at once, or when it settles). */
  declined?: boolean;
}

interface HandlerInput extends UpstreamRequest {
  id: string;
}

type Handler = (input: HandlerInput) => UpstreamReply;

const ORDER_STATUSES: readonly OrderStatus[] = ['pending', 'completed', 'failed'];

type Fields = Record<string, Field<unknown>>;

const ORDER_BODY = { total: number({ min: 0 }), order_id: optional(string()), basket_id: optional(string()) };
const ORDER_UPDATE_BODY = { status: oneOf(ORDER_STATUSES) };
const PAYMENT_BODY = { order_id: string(), amount: number() };

/** Replies carry a snapshot: the body must not change while the reply waits out its latency. */
const reply = (status: number, body: unknown, effectApplied = false): UpstreamReply => ({
  status,
  body: structuredClone(body),
  effectApplied,
});
const now = (): string => new Date().toISOString();

/** A 422 validation report in the shape of the user's reading. */
function invalid(input: HandlerInput, issues: ValidationIssue[], fields: Fields): UpstreamReply {
  const varied = input.profile.replies === 'varied';
  return reply(422, varied ? elysiaReport(issues, input.rawBody, fields) : { detail: issues });
}

/** The 2xx a route answers: the documented one, or under 'varied' replies the one some servers send instead. */
const success = (input: HandlerInput, documented: number, varied: number): number =>
  input.profile.replies === 'varied' ? varied : documented;

/** The order if it exists and belongs to the user, else the 404/403 reply. */
function ownedOrder(input: HandlerInput, id: string): { order: Order } | { refusal: UpstreamReply } {
  const order = input.state.findOrder(id);
  if (!order) return { refusal: reply(404, 'Order not found') };
  if (order.user_id !== input.user) return { refusal: reply(403, 'Not allowed to access this order') };
  return { order };
}

function ownedPayment(input: HandlerInput): { payment: Payment } | { refusal: UpstreamReply } {
  const payment = input.state.findPayment(input.id);
  if (!payment) return { refusal: reply(404, 'Payment not found') };
  if (payment.user_id !== input.user) return { refusal: reply(403, 'Not allowed to access this payment') };
  return { payment };
}

const listProducts: Handler = () => reply(200, DEFAULT_PRODUCTS);

const getProduct: Handler = ({ id }) => {
  const product = DEFAULT_PRODUCTS.find((candidate) => candidate.id === id);
  return product ? reply(200, product) : reply(404, 'Product not found');
};

const listOrders: Handler = ({ state, user }) => reply(200, state.ordersOf(user));

/** What a POST /orders/ with an already used order_id gets, or null when it creates a new record. */
function existingOrderReply(input: HandlerInput, existing: Order): UpstreamReply | null {
  switch (input.profile.orderIds) {
    case 'kept':
    case 'ignored':
      return null;
    case 'rejected':
      return reply(409, 'Order already exists');
    case 'deduplicated':
      if (existing.user_id !== input.user) return reply(403, 'Not allowed to access this order');
      return reply(success(input, 201, 200), existing);
  }
}

const createOrder: Handler = (input) => {
  const body = validateBody(input.rawBody, ORDER_BODY);
  if (!body.ok) return invalid(input, body.issues, ORDER_BODY);
  const { total, order_id, basket_id } = body.value;
  const existing = order_id === undefined ? undefined : input.state.findOrder(order_id);
  const refusal = existing && existingOrderReply(input, existing);
  if (refusal) return refusal;
  const keepsId = order_id !== undefined && input.profile.orderIds !== 'ignored';
  const order: Order = {
    id: keepsId ? order_id : randomUUID(),
    amount_total: total,
    basket_id: basket_id ?? null,
    user_id: input.user,
    created_at: now(),
    status: 'pending',
  };
  input.state.addOrder(order);
  return reply(success(input, 201, 200), order, true);
};

const getOrder: Handler = (input) => {
  const found = ownedOrder(input, input.id);
  return 'refusal' in found ? found.refusal : reply(200, found.order);
};

const updateOrder: Handler = (input) => {
  const body = validateBody(input.rawBody, ORDER_UPDATE_BODY);
  if (!body.ok) return invalid(input, body.issues, ORDER_UPDATE_BODY);
  const found = ownedOrder(input, input.id);
  if ('refusal' in found) return found.refusal;
  if (body.value.status === 'completed') input.state.markCompleted(found.order);
  found.order.status = body.value.status;
  return reply(success(input, 200, 201), found.order, true);
};

/** Stores a payment: settled at once, or pending until pendingPaymentMs have passed. */
function recordPayment(input: HandlerInput, fields: Omit<Payment, 'status'>): Payment {
  const outcome = input.declined ? 'failed' : 'completed';
  const pending = input.profile.payments === 'pending';
  const payment: Payment = { ...fields, status: pending ? 'pending' : outcome };
  input.state.addPayment(payment);
  if (pending) input.state.settleLater(payment, outcome, Date.now() + input.profile.pendingPaymentMs);
  return payment;
}

const createPayment: Handler = (input) => {
  const body = validateBody(input.rawBody, PAYMENT_BODY);
  if (!body.ok) return invalid(input, body.issues, PAYMENT_BODY);
  const { order_id, amount } = body.value;
  const found = ownedOrder(input, order_id);
  if ('refusal' in found) return found.refusal;
  if (amount !== found.order.amount_total) {
    const msg = `Amount must equal the order total ${found.order.amount_total}`;
    return invalid(input, [{ loc: ['body', 'amount'], msg, type: 'value_error' }], PAYMENT_BODY);
  }
  const payment = recordPayment(input, {
    id: randomUUID(),
    amount,
    user_id: input.user,
    created_at: now(),
    type: 'card',
    order_id,
  });
  const answer = payment.status === 'failed' ? reply(402, 'Payment declined', true) : reply(success(input, 201, 200), payment, true);
  return { ...answer, declined: input.declined };
};

const getPayment: Handler = (input) => {
  const found = ownedPayment(input);
  return 'refusal' in found ? found.refusal : reply(200, found.payment);
};

const refundOf = (payment: Payment): Refund => ({
  payment_id: payment.id,
  order_id: payment.order_id,
  amount: payment.amount,
  at: now(),
});

/** A DELETE of an already refunded payment, under the user's refund reading. */
function refundAgain(input: HandlerInput, payment: Payment): UpstreamReply {
  switch (input.profile.refunds) {
    case 'idempotent':
      return reply(200, payment);
    case 'once':
      return reply(404, 'Payment not found');
    case 'repeat':
      input.state.addRefund(refundOf(payment));
      return reply(200, payment, true);
  }
}

/** DELETE /payments/{id}: refunds a completed payment. */
const refundPayment: Handler = (input) => {
  const found = ownedPayment(input);
  if ('refusal' in found) return found.refusal;
  const { payment } = found;
  if (payment.status === 'refunded') return refundAgain(input, payment);
  if (payment.status !== 'completed') return reply(409, `A ${payment.status} payment cannot be refunded`);
  payment.status = 'refunded';
  input.state.addRefund(refundOf(payment));
  return reply(200, payment, true);
};

const ROUTES = routeTable<Handler>({
  'GET /products': listProducts,
  'GET /products/*': getProduct,
  'GET /orders': listOrders,
  'POST /orders': createOrder,
  'GET /orders/*': getOrder,
  'PATCH /orders/*': updateOrder,
  'POST /payments': createPayment,
  'GET /payments/*': getPayment,
  'DELETE /payments/*': refundPayment,
});

/** Serves one authenticated upstream request against the simulator's state. */
export function routeUpstream(request: UpstreamRequest): UpstreamReply {
  const match = matchRoute(ROUTES, request.method, request.path);
  if (match.kind === 'not_found') return reply(404, 'Not Found');
  if (match.kind === 'method_not_allowed') return reply(405, 'Method Not Allowed');
  return match.handler({ ...request, id: match.id ?? '' });
}
