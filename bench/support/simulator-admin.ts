import type { Ledger, LedgerCall, SimulatorConfig, SimulatorConfigPatch } from '../../dev/simulator';

/** The simulator's admin routes (never faulted, never delayed). */
export class SimulatorAdmin {
  constructor(readonly url: string) {}

  async reset(): Promise<void> {
    await this.send('POST', '/__reset');
  }

  /** Merges a partial config; setting `seed` restarts the simulator's PRNG from it. */
  async configure(config: SimulatorConfigPatch): Promise<SimulatorConfig> {
    return (await this.send('PUT', '/__config', config)) as SimulatorConfig;
  }

  async ledger(): Promise<Ledger> {
    return (await this.send('GET', '/__ledger')) as Ledger;
  }

  private async send(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`simulator ${method} ${path} answered ${response.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  }
}

/** Ledger calls grouped by user (every bench order has its own user). */
export function callsByUser(ledger: Ledger): Map<string, LedgerCall[]> {
  const byUser = new Map<string, LedgerCall[]>();
  for (const call of ledger.calls) {
    if (!call.user) continue;
    const calls = byUser.get(call.user) ?? [];
    calls.push(call);
    byUser.set(call.user, calls);
  }
  return byUser;
}

const isOrderOrPaymentPost = (call: LedgerCall) =>
  call.method === 'POST' &&
  (call.path === '/orders/' || call.path === '/payments/' || call.path === '/orders' || call.path === '/payments');

/**
 * The floor of one checkout: the upstream POST /orders/ and POST /payments/
 * latencies the caller actually waited for (a hang counts up to the caller's
 * own timeout, `waitCapMs`). Nothing can answer faster than this.
 */
export function floorMs(calls: readonly LedgerCall[] | undefined, waitCapMs = Infinity): number {
  return (calls ?? []).filter(isOrderOrPaymentPost).reduce((sum, call) => sum + Math.min(call.latencyMs, waitCapMs), 0);
}

/** Upstream faults the simulator dealt, by kind (declines included). */
export function faultsDealt(ledger: Ledger): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of ledger.calls) if (call.fault) counts[call.fault] = (counts[call.fault] ?? 0) + 1;
  return counts;
}
