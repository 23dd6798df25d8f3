import { lognormalLatencyMs, type Prng } from './random';
import { pathMatches } from './routing';
import type { FaultKind, ScriptedFault, SimulatorConfig } from './types';

/** What the seeded PRNG decided for one upstream request. */
export interface RequestDraws {
  latencyMs: number;
  fault: FaultKind | null;
  /** Whether a POST /payments/ would be declined (ignored by every other route). */
  declined: boolean;
  /** The uniform draw that picked the fault: a reading's late effects take the top of its range, away from the faults. */
  faultDraw: number;
}

function pickRandomFault(u: number, rates: SimulatorConfig['faults']): FaultKind | null {
  const shares: [FaultKind, number][] = [
    ['503', rates.rate503],
    ['reset', rates.rateReset],
    ['500_after', rates.rate500After],
    ['hang_after', rates.rateHangAfter],
  ];
  let threshold = 0;
  for (const [kind, rate] of shares) {
    threshold += rate;
    if (u < threshold) return kind;
  }
  return null;
}

/**
 * Draws latency, fault and decline for one request. Always consumes exactly four draws,
 * so the sequence for a seed does not shift when rates change or a route ignores a draw.
 */
export function drawForRequest(prng: Prng, config: SimulatorConfig): RequestDraws {
  const [u1, u2, uFault, uDecline] = [prng(), prng(), prng(), prng()];
  return {
    latencyMs: lognormalLatencyMs(config.latency.medianMs, config.latency.p99Ms, u1, u2),
    fault: pickRandomFault(uFault, config.faults),
    declined: uDecline < config.declineRate,
    faultDraw: uFault,
  };
}

/** Faults queued through POST /__faults; each matching request consumes one, first queued first. */
export class FaultQueue {
  private queued: ScriptedFault[] = [];

  add(fault: ScriptedFault): void {
    this.queued.push({ ...fault });
  }

  take(method: string, path: string, user: string): FaultKind | null {
    const index = this.queued.findIndex(
      (fault) => fault.method === method && pathMatches(fault.path, path) && (fault.user === null || fault.user === user),
    );
    if (index < 0) return null;
    const fault = this.queued[index];
    fault.times -= 1;
    if (fault.times === 0) this.queued.splice(index, 1);
    return fault.kind;
  }

  list(): ScriptedFault[] {
    return this.queued.map((fault) => ({ ...fault }));
  }

  clear(): void {
    this.queued = [];
  }
}
