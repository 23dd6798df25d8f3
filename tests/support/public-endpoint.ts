import { endpointsWith } from '../../lib/http/endpoint';

/** Handlers of public routes for unit tests: nothing authenticates, takes an Idempotency-Key or uses a service. */
export const publicEndpoint = endpointsWith<undefined>({
  services: () => undefined,
  verifyToken: () => {
    throw new Error('no authenticated routes in this test');
  },
  idempotencyStore: () => {
    throw new Error('no idempotent routes in this test');
  },
  storedOrderAnswer: () => {
    throw new Error('no idempotent routes in this test');
  },
});
