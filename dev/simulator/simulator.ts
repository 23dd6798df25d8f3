import { mergeConfig, type ConfigIssue } from './config';
import { drawForRequest, FaultQueue, type RequestDraws } from './faults';
import { mulberry32, type Prng } from './random';
import { SimulatorState } from './state';
import type { SimulatorConfig } from './types';

/** The simulator's mutable world, independent of HTTP: config, seeded PRNG, ledger and fault queue. */
export class Simulator {
  readonly state = new SimulatorState();
  readonly faults = new FaultQueue();
  private current: SimulatorConfig;
  private prng: Prng;
  private lastSeq = 0;

  constructor(
    private readonly startupConfig: SimulatorConfig,
    readonly jwtSecret: string,
  ) {
    this.current = structuredClone(startupConfig);
    this.prng = mulberry32(startupConfig.seed);
  }

  get config(): SimulatorConfig {
    return structuredClone(this.current);
  }

  /** Numbers an arriving upstream request and draws its fate; call once per request, in arrival order. */
  nextRequest(): { seq: number; draws: RequestDraws } {
    this.lastSeq += 1;
    return { seq: this.lastSeq, draws: drawForRequest(this.prng, this.current) };
  }

  /** Merges a partial config; a patch that sets `seed` restarts the PRNG from it. */
  updateConfig(patch: unknown): { ok: true; config: SimulatorConfig } | { ok: false; issues: ConfigIssue[] } {
    const result = mergeConfig(this.current, patch);
    if (!result.ok) return result;
    this.current = result.config;
    if ((patch as Partial<SimulatorConfig>).seed !== undefined) this.prng = mulberry32(this.current.seed);
    return { ok: true, config: this.config };
  }

  /** Back to the state right after startup: empty ledger, no queued faults, startup config, fresh PRNG. */
  reset(): void {
    this.state.clear();
    this.faults.clear();
    this.current = structuredClone(this.startupConfig);
    this.prng = mulberry32(this.startupConfig.seed);
    this.lastSeq = 0;
  }
}
