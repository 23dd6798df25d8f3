import { endpointsWith } from '../lib/http/endpoint';
import { storedPaymentAnswer } from '../lib/orders/http';
import { services, tokenVerifier, type Services } from '../lib/services';

/**
 * The composition root at the edge: every HTTP handler is built here with
 * the container's services (lib/services.ts), which its use-case call
 * receives, and the token verifier and idempotency store the middleware
 * stack uses. Nothing in lib/http/ knows how they are made.
 */
export const endpoint = endpointsWith<Services>({
  services,
  verifyToken: tokenVerifier,
  idempotencyStore: (app) => app.idempotency,
  storedOrderAnswer: storedPaymentAnswer,
});
