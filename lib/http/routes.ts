import type { ZodType } from 'zod';
import {
  basketItemParams,
  basketPageView,
  basketParams,
  basketView,
  emptyBody,
  ifMatchHeaders,
  listQuery,
  setQuantityBody,
} from '../baskets/schemas';
import { productListView } from '../catalogue/schemas';
import type { ErrorCode } from '../errors';
import {
  checkoutBody,
  idempotentHeaders,
  operatorListQuery,
  operatorOrderPageView,
  operatorOrderView,
  orderListQuery,
  orderPageView,
  orderParams,
  orderView,
  resolutionBody,
} from '../orders/schemas';
import { healthView } from './schemas';

/**
 * The API's one list of routes. Each entry is what its handler validates
 * (`endpoint(routes.x, …)` takes the same zod objects) and what the OpenAPI
 * document (lib/http/openapi.ts, served at GET /openapi.json) says about it.
 *
 * Adding a route: one entry here, a handler `export const handler = endpoint(routes.newRoute, …)`,
 * and its function in serverless.yml (tests check that serverless.yml and this list agree).
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Response headers we document (x-request-id is on every answer and needs no mention). */
export type ResponseHeader = 'etag' | 'location' | 'retry-after' | 'idempotent-replayed';

export interface ResponseSpec {
  description: string;
  /** The JSON body's schema; none for 204. */
  body?: ZodType;
  /** For a body that is not JSON (e.g. text/html): its media type. */
  contentType?: string;
  headers?: readonly ResponseHeader[];
}

export interface RouteSpec {
  method: HttpMethod;
  /** The path template, as in serverless.yml and OpenAPI: /baskets/{basketId}. */
  path: string;
  /** The serverless.yml function that serves the route; also the OpenAPI operationId. */
  functionName: string;
  tag: 'Products' | 'Baskets' | 'Orders' | 'Operations' | 'Service';
  summary: string;
  description?: string;
  /** false for public routes; everything else needs a verified x-auth-user token. */
  authenticated?: boolean;
  params?: ZodType;
  query?: ZodType;
  headers?: ZodType;
  body?: ZodType;
  /** Needs an Idempotency-Key; a repeat replays the first final answer (the middleware in lib/http/idempotency.ts). */
  idempotent?: boolean;
  /** Success answers by status. */
  responses: Readonly<Record<number, ResponseSpec>>;
  /**
   * The error codes this route's own work can answer. Added for every route:
   * INTERNAL; UNAUTHENTICATED when authenticated; VALIDATION_FAILED when it
   * validates input; IDEMPOTENCY_* and REQUEST_IN_PROGRESS when idempotent.
   */
  errors: readonly ErrorCode[];
}

/** Keeps the entry's literal types, so `endpoint(route, …)` infers the validated input's types from it. */
export const defineRoute = <const R extends RouteSpec>(route: R): R => route;

/** "POST /baskets/{basketId}/orders": API Gateway's route key; also what an Idempotency-Key is scoped to. */
export const routeKey = (route: Pick<RouteSpec, 'method' | 'path'>): string => `${route.method} ${route.path}`;

const UPSTREAM_FAILURES = ['UPSTREAM_ERROR', 'UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT'] as const satisfies readonly ErrorCode[];
/** What a paying request may answer when it did not pay: declined, unknown, or the upstream failing. */
const PAYMENT_FAILURES = ['PAYMENT_DECLINED', 'PAYMENT_STATUS_UNKNOWN', ...UPSTREAM_FAILURES] as const satisfies readonly ErrorCode[];
const PAYMENT_PENDING: ResponseSpec = {
  description: 'The upstream accepted the payment as pending (status paying); retry with the same key after Retry-After',
  body: orderView,
  headers: ['location', 'retry-after'],
};
const BASKET_WRITE_REFUSALS = [
  'BASKET_NOT_FOUND',
  'BASKET_LOCKED',
  'BASKET_CLOSED',
  'VERSION_MISMATCH',
] as const satisfies readonly ErrorCode[];

const basketAnswer = (status: number, description: string, extraHeaders: readonly ResponseHeader[] = []) => ({
  [status]: { description, body: basketView, headers: ['etag', ...extraHeaders] as const },
});

export const routes = {
  health: defineRoute({
    method: 'GET',
    path: '/health',
    functionName: 'health',
    tag: 'Service',
    summary: 'Liveness and database reachability',
    authenticated: false,
    responses: { 200: { description: 'The service and its database answer', body: healthView } },
    errors: ['DATABASE_UNAVAILABLE'],
  }),
  openApi: defineRoute({
    method: 'GET',
    path: '/openapi.json',
    functionName: 'openApi',
    tag: 'Service',
    summary: 'This document (OpenAPI 3.1)',
    authenticated: false,
    responses: {
      200: { description: 'The OpenAPI 3.1 document, generated from the schemas that validate requests', contentType: 'application/json' },
    },
    errors: [],
  }),
  docs: defineRoute({
    method: 'GET',
    path: '/docs',
    functionName: 'docs',
    tag: 'Service',
    summary: 'This document as a readable page',
    authenticated: false,
    responses: { 200: { description: 'A self-contained HTML page rendered from the OpenAPI document', contentType: 'text/html' } },
    errors: [],
  }),
  products: defineRoute({
    method: 'GET',
    path: '/products',
    functionName: 'products',
    tag: 'Products',
    summary: 'The catalogue, priced',
    description:
      'Prices are integer minor units; grossPrice = round-half-up(netPrice × (1 + vatRate)). The catalogue is cached per warm container; while the upstream fails, the last copy is served for a while.',
    responses: { 200: { description: 'Every product', body: productListView } },
    errors: [...UPSTREAM_FAILURES],
  }),
  createBasket: defineRoute({
    method: 'POST',
    path: '/baskets',
    functionName: 'createBasket',
    tag: 'Baskets',
    summary: 'Start an empty basket',
    body: emptyBody,
    responses: basketAnswer(201, 'The new basket (version 1)', ['location']),
    errors: [],
  }),
  listBaskets: defineRoute({
    method: 'GET',
    path: '/baskets',
    functionName: 'listBaskets',
    tag: 'Baskets',
    summary: "The caller's open baskets, newest first",
    query: listQuery,
    responses: { 200: { description: 'One page of baskets', body: basketPageView } },
    errors: [],
  }),
  getBasket: defineRoute({
    method: 'GET',
    path: '/baskets/{basketId}',
    functionName: 'getBasket',
    tag: 'Baskets',
    summary: 'Read a basket',
    description: "Another user's basket answers 404.",
    params: basketParams,
    responses: basketAnswer(200, 'The basket; ETag is its version'),
    errors: ['BASKET_NOT_FOUND'],
  }),
  discardBasket: defineRoute({
    method: 'DELETE',
    path: '/baskets/{basketId}',
    functionName: 'discardBasket',
    tag: 'Baskets',
    summary: 'Discard an open basket',
    params: basketParams,
    headers: ifMatchHeaders,
    responses: { 204: { description: 'Discarded' } },
    errors: [...BASKET_WRITE_REFUSALS],
  }),
  setBasketItem: defineRoute({
    method: 'PUT',
    path: '/baskets/{basketId}/items/{productId}',
    functionName: 'setBasketItem',
    tag: 'Baskets',
    summary: "Set a line's quantity (0 removes it)",
    description: 'Idempotent. The price is snapshotted from the catalogue onto the line, so the total shown is the total charged.',
    params: basketItemParams,
    headers: ifMatchHeaders,
    body: setQuantityBody,
    responses: basketAnswer(200, 'The basket after the change'),
    errors: [...BASKET_WRITE_REFUSALS, 'PRODUCT_NOT_FOUND', ...UPSTREAM_FAILURES],
  }),
  removeBasketItem: defineRoute({
    method: 'DELETE',
    path: '/baskets/{basketId}/items/{productId}',
    functionName: 'removeBasketItem',
    tag: 'Baskets',
    summary: 'Remove a line',
    params: basketItemParams,
    headers: ifMatchHeaders,
    responses: basketAnswer(200, 'The basket after the change'),
    errors: [...BASKET_WRITE_REFUSALS],
  }),
  placeOrder: defineRoute({
    method: 'POST',
    path: '/baskets/{basketId}/orders',
    functionName: 'placeOrder',
    tag: 'Orders',
    summary: 'Order and pay the basket, in one call (or prepare the order with pay: false)',
    description:
      'Creates the upstream order and pays it. 201 as soon as the payment is confirmed (paid); completing the upstream order happens after the reply and is guaranteed by the reconciler. ' +
      '402 PAYMENT_DECLINED keeps the order (pay again with POST /orders/{orderId}/payments); 502 PAYMENT_STATUS_UNKNOWN means it may have charged: never pay again blindly; ' +
      '503/504 with Retry-After charged nothing: retry with the same Idempotency-Key. ' +
      '202 with Retry-After: the upstream has the payment pending; retry with the same Idempotency-Key to follow it up (it is never paid twice). ' +
      'With `{"pay": false}` the order is prepared instead: the basket is locked at its current version and the upstream order created, and 201 answers the order `placed`; ' +
      'pay it with POST /orders/{orderId}/payments once the customer is ready (one upstream call), or cancel it with DELETE /orders/{orderId}.',
    params: basketParams,
    headers: idempotentHeaders,
    body: checkoutBody,
    idempotent: true,
    responses: {
      201: { description: 'Paid (status paid), or with pay: false prepared (status placed)', body: orderView, headers: ['location'] },
      202: PAYMENT_PENDING,
    },
    errors: [
      'BASKET_NOT_FOUND',
      'BASKET_EMPTY',
      'BASKET_LOCKED',
      'BASKET_CLOSED',
      'VERSION_MISMATCH',
      'ORDER_STATE_CONFLICT',
      ...PAYMENT_FAILURES,
    ],
  }),
  listOrders: defineRoute({
    method: 'GET',
    path: '/orders',
    functionName: 'listOrders',
    tag: 'Orders',
    summary: "The caller's orders, newest first",
    description:
      'Keyset-paginated (pass nextCursor as after). Filter by state (comma-separated) and by basket. Each order says what it means for the money (paymentState) and what the terminal may do next (nextActions).',
    query: orderListQuery,
    responses: { 200: { description: 'One page of orders', body: orderPageView } },
    errors: [],
  }),
  getOrder: defineRoute({
    method: 'GET',
    path: '/orders/{orderId}',
    functionName: 'getOrder',
    tag: 'Orders',
    summary: 'Read an order',
    params: orderParams,
    responses: { 200: { description: 'The order', body: orderView, headers: ['location'] } },
    errors: ['ORDER_NOT_FOUND'],
  }),
  payOrder: defineRoute({
    method: 'POST',
    path: '/orders/{orderId}/payments',
    functionName: 'payOrder',
    tag: 'Orders',
    summary: 'Pay a prepared order, or a declined one again',
    description:
      'Pays an order prepared with POST /baskets/{basketId}/orders and `{"pay": false}` (one upstream call), or one declined before. ' +
      'An order whose upstream creation was not confirmed yet is created (or found) first. Answers as POST /baskets/{basketId}/orders does.',
    params: orderParams,
    headers: idempotentHeaders,
    body: emptyBody,
    idempotent: true,
    responses: {
      201: { description: 'Paid', body: orderView, headers: ['location'] },
      202: PAYMENT_PENDING,
    },
    errors: ['ORDER_NOT_FOUND', 'ORDER_STATE_CONFLICT', ...PAYMENT_FAILURES],
  }),
  cancelOrder: defineRoute({
    method: 'DELETE',
    path: '/orders/{orderId}',
    functionName: 'cancelOrder',
    tag: 'Orders',
    summary: 'Cancel an unpaid order (the customer changed their mind)',
    description:
      'Claims the order as failing (nothing can pay it after this), fails it upstream and here, and reopens the basket. Repeating it answers the cancelled order. ' +
      'A paid order cannot be cancelled: refund it.',
    params: orderParams,
    responses: {
      200: { description: 'Cancelled (status failed); the basket is open again', body: orderView, headers: ['location'] },
      202: {
        description: 'Cancelled here (status failing); failing it upstream is finished by the reconciler, and the basket reopens then',
        body: orderView,
        headers: ['location'],
      },
    },
    errors: ['ORDER_NOT_FOUND', 'ORDER_STATE_CONFLICT'],
  }),
  refundOrder: defineRoute({
    method: 'POST',
    path: '/orders/{orderId}/refund',
    functionName: 'refundOrder',
    tag: 'Orders',
    summary: 'Refund a completed order',
    description:
      'Idempotent: repeating it resumes a refund in progress; a refunded order is returned as is. One refund request per payment is ever sent upstream at a time: ' +
      'while one is in flight, another answers 409 REQUEST_IN_PROGRESS with Retry-After.',
    params: orderParams,
    body: emptyBody,
    responses: { 200: { description: 'The order, refunded', body: orderView, headers: ['location'] } },
    errors: ['ORDER_NOT_FOUND', 'ORDER_STATE_CONFLICT', 'REQUEST_IN_PROGRESS', ...UPSTREAM_FAILURES],
  }),
  operatorListOrders: defineRoute({
    method: 'GET',
    path: '/operator/orders',
    functionName: 'operatorListOrders',
    tag: 'Operations',
    summary: 'Orders that need a person, across users (operators only)',
    description:
      "Orders whose payment outcome is unknown, and any order not at rest and unchanged for longer than OPERATOR_STUCK_AFTER_MINUTES; newest first. Needs the token's roles claim to include operator; anyone else gets 404.",
    query: operatorListQuery,
    responses: { 200: { description: 'One page of orders', body: operatorOrderPageView } },
    errors: ['ROUTE_NOT_FOUND'],
  }),
  resolveOrder: defineRoute({
    method: 'POST',
    path: '/operator/orders/{orderId}/resolution',
    functionName: 'resolveOrder',
    tag: 'Operations',
    summary: 'Resolve an order that needs a person (operators only)',
    description:
      'For an order whose payment outcome is unknown, or one stuck paying, paid or refunding past OPERATOR_STUCK_AFTER_MINUTES, with what the operator established with the payment provider. ' +
      'charged: an unknown or paying order is paid (with paymentId, which makes it refundable), completed upstream and its basket closed; a paid one is completed here; a refunding one goes back to completed. ' +
      'not_charged: an unknown or paying order is failed upstream and here, and the basket reopens for another checkout. refunded: a refunding order is refunded. ' +
      'The word is checked first: 503 while a payment or refund sent within UPSTREAM_LATE_EFFECT_MS may still land; 409 when a recorded answer or the payment the POS system shows (GET /payments/{id}) contradicts it; ' +
      "422 for a payment id the POS system does not know as this customer's, or for another amount or order. Never sends a payment or a refund. Recorded (who, when, what, why) once per step; repeating the same resolution answers the same, another one is 409. " +
      'Upstream work that fails now is finished by the reconciler. Anyone without the operator role gets 404.',
    params: orderParams,
    body: resolutionBody,
    responses: { 200: { description: 'The order as it now stands, and its resolution', body: operatorOrderView } },
    errors: ['ROUTE_NOT_FOUND', 'ORDER_NOT_FOUND', 'ORDER_STATE_CONFLICT', ...UPSTREAM_FAILURES],
  }),
};

/** Every route, in the order above (the document's order). */
export const allRoutes: readonly RouteSpec[] = Object.values(routes);

/** The codes a route can answer: its own and those the shared middleware adds. */
export function errorCodesOf(route: RouteSpec): ErrorCode[] {
  const codes = new Set<ErrorCode>(route.errors);
  if (route.authenticated !== false) codes.add('UNAUTHENTICATED');
  if (route.params || route.query || route.headers || route.body) codes.add('VALIDATION_FAILED');
  if (route.idempotent)
    for (const code of ['IDEMPOTENCY_KEY_MISSING', 'IDEMPOTENCY_KEY_REUSED', 'REQUEST_IN_PROGRESS'] as const) codes.add(code);
  // Every route may be throttled (too many requests at once) or time out before it answers: the service
  // answers both with Retry-After (lib/http/endpoint.ts, and the local stack's gateway, dev/infra/gateway.ts).
  codes.add('THROTTLED');
  codes.add('SERVICE_UNAVAILABLE');
  codes.add('INTERNAL');
  return [...codes];
}
