import type { Product } from '../../dev/simulator';
import type { PlannedLine } from './harness';

/** One checkout of the original starter flow, done by the bench directly against the upstream. */
export interface NaiveResult {
  user: string;
  durationMs: number;
  /** "ok", or the step that failed and how: "POST /payments/ → 500". */
  outcome: string;
  /** Whether POST /payments/ answered 201: what the starter took as "charged". */
  paymentConfirmed: boolean;
}

type StepResult = { status: number; body: any } | { error: string };

/**
 * The starter's ordering request: fetch the catalogue, POST /orders/ with the
 * computed total, POST /payments/ for it, PATCH the order completed. No
 * retries, no timeouts (only a generous safety cap), nothing recorded.
 */
export async function naiveCheckout(
  upstreamUrl: string,
  token: string,
  user: string,
  lines: readonly PlannedLine[],
  safetyCapMs = 60_000,
): Promise<NaiveResult> {
  const started = performance.now();
  const finish = (outcome: string, paymentConfirmed = false): NaiveResult => ({
    user,
    durationMs: performance.now() - started,
    outcome,
    paymentConfirmed,
  });
  const step = async (method: string, path: string, body?: unknown): Promise<StepResult> => {
    try {
      const response = await fetch(`${upstreamUrl}${path}`, {
        method,
        headers: { 'x-auth-user': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(safetyCapMs),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      return {
        error: (error as Error).name === 'TimeoutError' ? 'safety cap reached' : `connection lost${cause?.code ? ` (${cause.code})` : ''}`,
      };
    }
  };
  const failed = (label: string, result: StepResult) => `${label} → ${'error' in result ? result.error : result.status}`;

  const products = await step('GET', '/products/');
  if ('error' in products || products.status !== 200) return finish(failed('GET /products/', products));
  const catalogue = new Map((products.body as Product[]).map((product) => [product.id, product]));
  const total =
    Math.round(
      100 *
        lines.reduce(
          (sum, line) => sum + catalogue.get(line.productId)!.price_unit * line.quantity * (1 + catalogue.get(line.productId)!.vat_rate),
          0,
        ),
    ) / 100;

  const order = await step('POST', '/orders/', { total });
  if ('error' in order || order.status !== 201) return finish(failed('POST /orders/', order));
  const payment = await step('POST', '/payments/', { order_id: order.body.id, amount: total });
  if ('error' in payment || payment.status !== 201) return finish(failed('POST /payments/', payment));
  const patched = await step('PATCH', `/orders/${order.body.id}`, { status: 'completed' });
  if ('error' in patched || patched.status !== 200) return finish(failed('PATCH /orders/{id}', patched), true);
  return finish('ok', true);
}
