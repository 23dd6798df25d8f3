import { z } from 'zod';
import { AppError } from '../errors';
import type { CallOptions, UpstreamClient, UpstreamResponse } from './client';
import { upstreamFailureToAppError } from './errors';

export const upstreamProductSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  name: z.string(),
  vat_rate: z.number().min(0).max(1),
  price_unit: z.number().min(0),
});
export type UpstreamProduct = z.infer<typeof upstreamProductSchema>;

function parseUpstream<T>(schema: z.ZodType<T>, response: UpstreamResponse, what: string): T {
  const parsed = schema.safeParse(response.body);
  if (!parsed.success) {
    throw new AppError('UPSTREAM_ERROR', `The POS system sent an unexpected ${what}`, { cause: parsed.error });
  }
  return parsed.data;
}

function unexpectedStatus(response: UpstreamResponse, what: string): AppError {
  return new AppError('UPSTREAM_ERROR', `The POS system refused to ${what} (status ${response.status})`);
}

/** Typed calls to the upstream POS API; shapes are checked, never trusted. */
export class PosApi {
  constructor(readonly client: UpstreamClient) {}

  /** Runs a call and turns transport failures into the caller's 502/503/504. */
  async send(method: string, path: string, body: unknown, options: CallOptions): Promise<UpstreamResponse> {
    try {
      return await this.client.call(method, path, body, options);
    } catch (error) {
      throw upstreamFailureToAppError(error, this.client.retryAfterSeconds);
    }
  }

  async listProducts(options: CallOptions): Promise<UpstreamProduct[]> {
    const response = await this.send('GET', '/products/', undefined, options);
    if (response.status !== 200) throw unexpectedStatus(response, 'list products');
    return parseUpstream(z.array(upstreamProductSchema), response, 'product list');
  }

  /** One product, or undefined when the upstream does not know it. */
  async getProduct(id: string, options: CallOptions): Promise<UpstreamProduct | undefined> {
    const response = await this.send('GET', `/products/${encodeURIComponent(id)}`, undefined, options);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw unexpectedStatus(response, 'look up a product');
    return parseUpstream(upstreamProductSchema, response, 'product');
  }
}
