import { randomUUID } from 'node:crypto';
import { DEFAULT_PRODUCTS } from './catalogue';
import type { Reply } from './http';
import { matchRoute, type Route } from './routing';
import type { SimulatorState } from './state';
import type { Order, OrderIdMode, OrderStatus, Payment } from './types';
import { number, oneOf, optional, string, validateBody, type ValidationIssue } from './validation';

export interface UpstreamRequest {
  method: string;
  path: string;
  user: string;
  rawBody: string;
  /** Whether a payment made by this request is declined. */
  declined: boolean;
  orderIdMode: OrderIdMode;
  state: SimulatorState;
}

export interface UpstreamReply extends Reply {
  /** Whether the request changed the upstream's state. */
  effectApplied: boolean;
}

interface HandlerInput extends UpstreamRequest {
  id: string;
}

type Handler = (input: HandlerInput) => UpstreamReply;

const ORDER_STATUSES: readonly OrderStatus[] = ['pending', 'completed', 'failed'];

/** Replies carry a snapshot: the body must not change while the reply waits out its latency. */
const reply = (status: number, body: unknown, effectApplied = false): UpstreamReply => ({
  status,
  body: structuredClone(body),
  effectApplied,
});
const invalid = (issues: ValidationIssue[]): UpstreamReply => reply(422, { detail: issues });
const now = (): string => new Date().toISOString();

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
  switch (input.orderIdMode) {
    case 'duplicate':
      return null;
    case 'reject':
      return reply(409, 'Order already exists');
    case 'dedupe':
      return existing.user_id === input.user ? reply(201, existing) : reply(403, 'Not allowed to access this order');
  }
}

const createOrder: Handler = (input) => {
  const body = validateBody(input.rawBody, {
    total: number({ min: 0 }),
    order_id: optional(string()),
    basket_id: optional(string()),
  });
  if (!body.ok) return invalid(body.issues);
  const { total, order_id, basket_id } = body.value;
  const existing = order_id === undefined ? undefined : input.state.findOrder(order_id);
  const refusal = existing && existingOrderReply(input, existing);
  if (refusal) return refusal;
  const order: Order = {
    id: order_id ?? randomUUID(),
    amount_total: total,
    basket_id: basket_id ?? null,
    user_id: input.user,
    created_at: now(),
    status: 'pending',
  };
  input.state.addOrder(order);
  return reply(201, order, true);
};

const getOrder: Handler = (input) => {
  const found = ownedOrder(input, input.id);
  return 'refusal' in found ? found.refusal : reply(200, found.order);
};

const updateOrder: Handler = (input) => {
  const body = validateBody(input.rawBody, { status: oneOf(ORDER_STATUSES) });
  if (!body.ok) return invalid(body.issues);
  const found = ownedOrder(input, input.id);
  if ('refusal' in found) return found.refusal;
  found.order.status = body.value.status;
  return reply(200, found.order, true);
};

const createPayment: Handler = (input) => {
  const body = validateBody(input.rawBody, { order_id: string(), amount: number() });
  if (!body.ok) return invalid(body.issues);
  const { order_id, amount } = body.value;
  const found = ownedOrder(input, order_id);
  if ('refusal' in found) return found.refusal;
  if (amount !== found.order.amount_total) {
    const msg = `Amount must equal the order total ${found.order.amount_total}`;
    return invalid([{ loc: ['body', 'amount'], msg, type: 'value_error' }]);
  }
  const payment: Payment = {
    id: randomUUID(),
    amount,
    user_id: input.user,
    created_at: now(),
    status: input.declined ? 'failed' : 'completed',
    type: 'card',
    order_id,
  };
  input.state.addPayment(payment);
  return input.declined ? reply(402, 'Payment declined', true) : reply(201, payment, true);
};

const getPayment: Handler = (input) => {
  const found = ownedPayment(input);
  return 'refusal' in found ? found.refusal : reply(200, found.payment);
};

/** DELETE /payments/{id}: refunds a completed payment; refunding again answers the refunded payment unchanged. */
const refundPayment: Handler = (input) => {
  const found = ownedPayment(input);
  if ('refusal' in found) return found.refusal;
  const { payment } = found;
  if (payment.status === 'refunded') return reply(200, payment);
  if (payment.status !== 'completed') return reply(409, `A ${payment.status} payment cannot be refunded`);
  payment.status = 'refunded';
  input.state.addRefund({ payment_id: payment.id, order_id: payment.order_id, amount: payment.amount, at: now() });
  return reply(200, payment, true);
};

const ROUTES: Route<Handler>[] = [
  { method: 'GET', pattern: '/products', handler: listProducts },
  { method: 'GET', pattern: '/products/*', handler: getProduct },
  { method: 'GET', pattern: '/orders', handler: listOrders },
  { method: 'POST', pattern: '/orders', handler: createOrder },
  { method: 'GET', pattern: '/orders/*', handler: getOrder },
  { method: 'PATCH', pattern: '/orders/*', handler: updateOrder },
  { method: 'POST', pattern: '/payments', handler: createPayment },
  { method: 'GET', pattern: '/payments/*', handler: getPayment },
  { method: 'DELETE', pattern: '/payments/*', handler: refundPayment },
];

/** Serves one authenticated upstream request against the simulator's state. */
export function routeUpstream(request: UpstreamRequest): UpstreamReply {
  const match = matchRoute(ROUTES, request.method, request.path);
  if (match.kind === 'not_found') return reply(404, 'Not Found');
  if (match.kind === 'method_not_allowed') return reply(405, 'Method Not Allowed');
  return match.handler({ ...request, id: match.id ?? '' });
}
