import type { CallOptions, UpstreamResponse, UpstreamTransport } from '../../lib/upstream/client';
import { statusFailure, UpstreamCallError, type FailureOutcome } from '../../lib/upstream/outcome';
import { SimulatorState } from '../simulator/state';
import type { Payment, PaymentStatus, UpstreamProfile } from '../simulator/types';
import { routeUpstream, type UpstreamReply } from '../simulator/upstream-routes';
import type { Actor, Runtime, VirtualClock } from './runtime';

/**
 * What becomes of one upstream call. `effect`: the request is applied before
 * the answer, never, or later (after the caller has its answer, within the
 * late-effect window). `answer`: the route's own reply, another status, or no
 * answer (a timeout, a dropped connection, a refused connection).
 */
export interface Fate {
  effect: 'before' | 'none' | 'late';
  answer: { kind: 'reply' } | { kind: 'status'; status: number } | { kind: 'timeout' } | { kind: 'lost' } | { kind: 'refused' };
  /** A payment this call makes is declined (at once, or when a pending one settles). */
  declined: boolean;
}

export const OK: Fate = { effect: 'before', answer: { kind: 'reply' }, declined: false };

/** One upstream call as the ledger of the simulation saw it being sent. */
export interface SentCall {
  seq: number;
  method: string;
  path: string;
  /** The payment a POST /payments/ made, once its effect landed. */
  paymentId?: string;
}

/** Keeps the pending payments' settling under the schedule instead of the wall clock. */
class ScheduledState extends SimulatorState {
  /** The payment the latest POST /payments/ stored. */
  lastPayment?: Payment;

  constructor(private readonly runtime: Runtime) {
    super();
  }

  override addPayment(payment: Payment): void {
    super.addPayment(payment);
    this.lastPayment = payment;
  }

  override settleLater(payment: Payment, status: PaymentStatus): void {
    this.runtime.later(`payment ${short(payment.id)} settles ${status}`, () => {
      payment.status = status;
    });
  }
}

const short = (id: string) => id.slice(0, 8);

/**
 * The upstream POS API in-process: the simulator's own routes and state
 * (dev/simulator), with each call's effect and answer gated by the runtime and
 * its fate taken from the plan. What an answer means follows the real client
 * (lib/upstream/client.ts): 5xx and 429 fail the call, classified by the
 * service's reading of 503; other statuses are answers.
 */
export class SimulatedUpstream {
  readonly state: ScheduledState;
  readonly sent: SentCall[] = [];
  readonly retryAfterSeconds = 1;
  private fateIndex = 0;
  /** Off once the schedule is driven to rest: every call then succeeds. */
  faultsOn = true;

  constructor(
    private readonly runtime: Runtime,
    private readonly clock: VirtualClock,
    private readonly profile: UpstreamProfile,
    private readonly fates: readonly Fate[],
    private readonly options: { unavailableMeansNoEffect: boolean; lateEffectWithinMs: number },
  ) {
    this.state = new ScheduledState(runtime);
  }

  /** The upstream as one actor calls it: its requests and answers are that actor's gates. */
  transportFor(actor: Actor): UpstreamTransport {
    return {
      retryAfterSeconds: this.retryAfterSeconds,
      call: (method, path, body, options) => this.call(actor, method, path, body, options),
    };
  }

  private async call(actor: Actor, method: string, path: string, body: unknown, options: CallOptions): Promise<UpstreamResponse> {
    const fate = this.normalise(this.nextFate(method));
    const call: SentCall = { seq: 0, method, path };
    await this.runtime.gate(actor, `→ ${method} ${path}${describeBody(body)}`);
    // As the real client (lib/upstream/client.ts): nothing goes out once the request's deadline has passed.
    if (options.deadline.remainingMs() <= 0) throw new UpstreamCallError({ type: 'not_sent' }, method, path);
    call.seq = this.runtime.nextSeq();
    this.sent.push(call);
    const apply = (): UpstreamReply => {
      const reply = routeUpstream({
        method,
        path,
        user: options.token,
        rawBody: body === undefined ? '' : JSON.stringify(body),
        declined: fate.declined,
        profile: this.profile,
        state: this.state,
      });
      if (method === 'POST' && path === '/payments/' && reply.effectApplied) call.paymentId = this.state.lastPayment?.id;
      return reply;
    };
    let reply: UpstreamReply | undefined;
    if (fate.effect === 'before') reply = apply();
    if (fate.effect === 'late') this.landLater(method, path, apply);
    await this.runtime.gate(actor, `← ${method} ${path}: ${describeAnswer(fate, reply)}`);
    return this.answer(method, path, fate, reply);
  }

  private answer(method: string, path: string, fate: Fate, reply: UpstreamReply | undefined): UpstreamResponse {
    const fail = (outcome: FailureOutcome) => new UpstreamCallError(outcome, method, path);
    switch (fate.answer.kind) {
      case 'reply':
        return { status: reply!.status, body: reply!.body };
      case 'status': {
        const failure = statusFailure(fate.answer.status, this.options.unavailableMeansNoEffect);
        if (failure) throw fail(failure);
        return { status: fate.answer.status, body: `status ${fate.answer.status}` };
      }
      case 'timeout':
        throw fail({ type: 'timeout' });
      case 'lost':
        throw fail({ type: 'connection_lost' });
      case 'refused':
        throw fail({ type: 'connect_failed' });
    }
  }

  /** The effect lands at a point of the schedule's choosing, at the latest when the late-effect window ends. */
  private landLater(method: string, path: string, apply: () => UpstreamReply): void {
    let landed = false;
    const land = () => {
      if (landed) return;
      landed = true;
      const reply = apply();
      this.runtime.note(`late effect of ${method} ${path} lands (${reply.status})`, 'upstream');
    };
    this.runtime.later(`late effect of ${method} ${path}`, land);
    this.clock.mustHappenBy(this.clock.now() + this.options.lateEffectWithinMs, land);
  }

  private nextFate(method: string): Fate {
    if (!this.faultsOn || this.fateIndex >= this.fates.length) return OK;
    const fate = this.fates[this.fateIndex++];
    // Reads have no effect to apply late or not at all: only their answer can fail.
    return method === 'GET' ? { ...fate, effect: 'before' } : fate;
  }

  /** Makes a drawn fate one the reading allows: a reply needs the effect, a 503 before the effect has none. */
  private normalise(fate: Fate): Fate {
    const { answer } = fate;
    if (answer.kind === 'reply') return { ...fate, effect: 'before' };
    if (answer.kind === 'refused') return { ...fate, effect: 'none' };
    if (answer.kind === 'status' && answer.status === 503) {
      if (this.profile.unavailable === 'before_effect') return { ...fate, effect: 'none' };
      return fate.effect === 'none' ? { ...fate, effect: 'before' } : fate;
    }
    return fate;
  }
}

function describeBody(body: unknown): string {
  return body === undefined ? '' : ` ${JSON.stringify(body)}`;
}

function describeAnswer(fate: Fate, reply: UpstreamReply | undefined): string {
  const effect = fate.effect === 'before' ? '' : fate.effect === 'late' ? ' (effect lands later)' : ' (no effect)';
  switch (fate.answer.kind) {
    case 'reply':
      return `${reply!.status} ${summarise(reply!.body)}`;
    case 'status':
      return `status ${fate.answer.status}${effect}`;
    default:
      return `${fate.answer.kind}${effect}`;
  }
}

function summarise(body: unknown): string {
  if (Array.isArray(body)) return `[${body.length} items]`;
  if (body && typeof body === 'object') {
    const { id, status, amount, amount_total } = body as Record<string, unknown>;
    return JSON.stringify({ id: typeof id === 'string' ? short(id) : id, status, amount, amount_total });
  }
  return JSON.stringify(body);
}
