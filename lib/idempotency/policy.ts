/**
 * Whether a response is the request's final answer, to be stored and replayed
 * for its Idempotency-Key. Every answer below 500 is final (2xx, and 4xx such
 * as 402 PAYMENT_DECLINED, 409, 422), and so is 502: the upstream refused, or
 * a payment's outcome is unknown and the cashier must look at the order rather
 * than pay again. 500, 503 and 504 (and any other 5xx) decide nothing: the key
 * is released so the cashier may retry with the same key.
 */
export function shouldStoreResponse(status: number): boolean {
  return (status >= 200 && status < 500) || status === 502;
}
