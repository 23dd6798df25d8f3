/**
 * @pos/basket-client: a terminal's client of the POS basket service.
 *
 *   const pos = new PosClient({ baseUrl, token });
 *   const outcome = await pos.checkout(basketId, { budgetMs: 20_000 });
 *
 * See docs/client.md for the checkout in ten lines and every outcome.
 */
export { PosClient } from './client.js';
export type { CallOptions, CheckoutOptions, PayingOptions, PosClientOptions, Version, WriteOptions } from './client.js';
export { isPosApiError, PosApiError, PosTransportError } from './errors.js';
export type { ErrorDetail, PosErrorCode, TransportFailure } from './errors.js';
export type { Answer, FetchLike } from './http.js';
export { newIdempotencyKey } from './keys.js';
export type {
  Cancelled,
  Declined,
  Operation,
  Outcome,
  OutcomeKind,
  Paid,
  PendingReason,
  Prepared,
  Refunded,
  Refused,
  Resumable,
  RetryLater,
  Unknown,
} from './outcomes.js';
export { delayBefore, verdictFor } from './retry.js';
export type { RetryReason, Safety, Verdict } from './retry.js';
export type {
  Basket,
  BasketPage,
  components,
  ErrorBody,
  ErrorCode,
  JsonAnswer,
  operations,
  Order,
  OrderPage,
  OrderStatus,
  paths,
  Product,
} from './types.js';
