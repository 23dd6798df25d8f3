/**
 * The API's shapes, by name, from the types openapi-typescript generates out
 * of the service's OpenAPI document (generated/api.ts). Nothing here is
 * written by hand beside the names: a field the service adds or drops shows
 * up here when the types are generated again.
 */
import type { components, operations, paths } from './generated/api.js';

export type { components, operations, paths };

type Schemas = components['schemas'];

export type Order = Schemas['Order'];
export type OrderStatus = Order['status'];
export type OrderPage = Schemas['OrderPage'];
export type Basket = Schemas['Basket'];
export type BasketPage = Schemas['BasketPage'];
export type Product = Schemas['Product'];
/** Every error answer of the service: `{ error: { code, message, details?, orderId?, currentVersion? } }`. */
export type ErrorBody = Schemas['Error'];
/** The service's stable error codes. */
export type ErrorCode = ErrorBody['error']['code'];

/** The JSON body an operation answers with a status (never for a status the document does not list). */
export type JsonAnswer<
  Op extends keyof operations,
  Status extends keyof operations[Op]['responses'],
> = operations[Op]['responses'][Status] extends {
  content: { 'application/json': infer Body };
}
  ? Body
  : never;

/** The query parameters an operation takes. */
export type QueryOf<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;

type HttpMethod = 'get' | 'put' | 'post' | 'delete';

/** The methods the document defines on a path. */
export type MethodOf<Path extends keyof paths> = {
  [M in HttpMethod]-?: undefined extends paths[Path][M] ? never : M;
}[HttpMethod];

/** The path parameters of a path template, e.g. `{ basketId: string }` for /baskets/{basketId}. */
export type PathParams<Path extends keyof paths, M extends MethodOf<Path>> = paths[Path][M] extends {
  parameters: { path: infer Params };
}
  ? Params
  : Record<string, never>;
