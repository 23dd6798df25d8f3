import { mergeConfig, validateProfilePatch, type ConfigIssue } from './config';
import { drawForRequest, FaultQueue, type RequestDraws } from './faults';
import { mulberry32, type Prng } from './random';
import { SimulatorState } from './state';
import type { SimulatorConfig, UpstreamProfile } from './types';

type ProfileUpdate = { ok: true; profile: UpstreamProfile } | { ok: false; issues: ConfigIssue[] };

/** The simulator's mutable world, independent of HTTP: config, per-user profiles, PRNG, ledger and fault queue. */
export class Simulator {
  readonly state = new SimulatorState();
  readonly faults = new FaultQueue();
  private current: SimulatorConfig;
  private profileOverrides = new Map<string, Partial<UpstreamProfile>>();
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

  /** The reading a user's requests get: the global profile with the user's override, if any, over it. */
  profileFor(user: string | undefined): UpstreamProfile {
    const override = user === undefined ? undefined : this.profileOverrides.get(user);
    return { ...this.current.profile, ...override };
  }

  /** Replaces a user's override with an untrusted partial profile; answers the user's profile. */
  overrideProfile(user: string, patch: unknown): ProfileUpdate {
    const result = validateProfilePatch(patch);
    if (!result.ok) return result;
    this.profileOverrides.set(user, result.profile);
    return { ok: true, profile: this.profileFor(user) };
  }

  clearProfile(user: string): void {
    this.profileOverrides.delete(user);
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

  /** Back to right after startup: startup config, empty ledger, no queued faults nor profile overrides, fresh PRNG. */
  reset(): void {
    this.state.clear();
    this.faults.clear();
    this.profileOverrides.clear();
    this.current = structuredClone(this.startupConfig);
    this.prng = mulberry32(this.startupConfig.seed);
    this.lastSeq = 0;
  }
}
