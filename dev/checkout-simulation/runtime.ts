import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from '../../lib/clock';

/**
 * The part of a promise scheduler the simulation needs: fast-check's
 * `fc.scheduler()` (which picks the order in which scheduled promises
 * resolve, replays a seed and shrinks) satisfies it.
 */
export interface PromiseScheduler {
  schedule<T>(task: Promise<T>, label?: string): Promise<T>;
  count(): number;
  /** Releases one scheduled promise of the scheduler's choosing (fast-check's waitNext relies on watchers that real I/O between steps confuses). */
  waitOne(): Promise<void>;
}

/**
 * One actor of a schedule (a terminal's request, the reconciler, an
 * operator). Its ports are wired to it (world.ts), so each gate knows whose
 * step it is without tracking async context.
 */
/** The label of an actor's first gate, before its request reaches the service. */
export const ACTOR_START = 'starts: ';

export class Actor {
  /** Gates passed so far. */
  steps = 0;
  dead = false;
  /** When its first gate was passed: the moment its request reached the service (its deadline counts from then). */
  firstStepAt?: number;

  /** `dieAtStep`: the actor dies (memory gone, database state kept) when it reaches this gate. */
  constructor(
    readonly name: string,
    readonly dieAtStep?: number,
  ) {}
}

export interface TraceLine {
  /** Milliseconds since the schedule began, in virtual time. */
  at: number;
  who: string;
  what: string;
}

/** A promise that never settles: a fresh one each time, so what waits on it is collected with it (one shared promise would keep every dead actor). */
const never = () => new Promise<never>(() => undefined);

/**
 * Runs a schedule's actors under a promise scheduler. Every await that
 * matters (a repository call, an upstream request and its answer, a sleep,
 * an effect that lands late) is a gate: a scheduled promise the scheduler
 * releases in an order of its choosing. Between two gates an actor runs
 * alone until it reaches its next gate (settle() waits for that, database
 * round trips included), so one seed is one interleaving.
 */
export class Runtime {
  private readonly startedAt: number;
  private busy = 0;
  private activity = 0;
  private seq = 0;
  readonly trace: TraceLine[] = [];

  constructor(
    private readonly scheduler: PromiseScheduler,
    readonly clock: VirtualClock,
  ) {
    this.startedAt = clock.now();
  }

  /** Orders events (upstream calls sent, answers given) across actors, for the invariants. */
  nextSeq(): number {
    return ++this.seq;
  }

  note(what: string, who: string): void {
    this.trace.push({ at: this.clock.now() - this.startedAt, who, what });
  }

  /**
   * One scheduled step of `actor` (undefined: the world, which never dies).
   * An actor that dies here never continues: its memory is gone, what it
   * wrote stays. `onRelease` runs when the scheduler lets the step through
   * (a sleep moves the clock then).
   */
  async gate(actor: Actor | undefined, what: string, onRelease?: () => void): Promise<void> {
    this.activity++;
    if (actor) {
      if (actor.dead) return never();
      actor.steps++;
      if (actor.dieAtStep !== undefined && actor.steps >= actor.dieAtStep) {
        actor.dead = true;
        this.note(`dies before: ${what}`, actor.name);
        return never();
      }
    }
    const who = actor?.name ?? 'world';
    await this.scheduler.schedule(Promise.resolve(), `${who}: ${what}`);
    onRelease?.();
    if (actor && !what.startsWith(ACTOR_START)) actor.firstStepAt ??= this.clock.now();
    this.note(what, who);
  }

  /** Runs real I/O (a database statement) between two gates; settle() waits for it. */
  async io<T>(work: () => Promise<T>): Promise<T> {
    this.busy++;
    this.activity++;
    try {
      return await work();
    } finally {
      this.busy--;
      this.activity++;
    }
  }

  /** Work of the world (an effect landing late, a payment settling) at a point of the scheduler's choosing. */
  later(what: string, work: () => void): void {
    void this.gate(undefined, what).then(work);
  }

  /** Waits until every actor the last release woke has reached its next gate or finished. */
  async settle(): Promise<void> {
    let seen = -1;
    while (this.busy > 0 || seen !== this.activity) {
      seen = this.activity;
      await nextTurn();
    }
  }

  /** Releases scheduled steps one at a time until none is left. */
  async runUntilIdle(maxSteps = 20_000): Promise<void> {
    await this.settle();
    for (let step = 0; this.scheduler.count() > 0; step++) {
      if (step >= maxSteps) throw new Error(`the schedule did not come to rest within ${maxSteps} steps`);
      await this.scheduler.waitOne();
      await this.settle();
    }
  }

  /** The trace as text, one step a line. */
  formatTrace(): string {
    return this.trace.map((line) => `${(line.at / 1000).toFixed(3).padStart(9)} s  ${line.who.padEnd(18)} ${line.what}`).join('\n');
  }
}

/**
 * Time under the schedule's control. It only moves forward, when a sleep is
 * released or a tick of the plan passes; before it passes a moment by which
 * the upstream must have applied a request it was still working on, that
 * effect lands (the contract's "seconds later" is bounded by the late-effect window).
 */
export class VirtualClock implements Clock {
  private current: number;
  private readonly deadlines: { at: number; land: () => void }[] = [];
  runtime?: Runtime;

  constructor(start: number) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number): Promise<void> {
    return this.forActor(undefined).sleep(ms);
  }

  /** The clock as one actor sees it: its sleeps are its own gates. */
  forActor(actor: Actor | undefined): Clock {
    return {
      now: () => this.current,
      sleep: (ms) => {
        const wakeAt = this.current + ms;
        return this.runtime!.gate(actor, `sleeps ${ms} ms`, () => this.advanceTo(wakeAt));
      },
    };
  }

  advanceTo(at: number): void {
    while (true) {
      this.deadlines.sort((a, b) => a.at - b.at);
      const due = this.deadlines[0];
      if (!due || due.at > at) break;
      this.deadlines.shift();
      if (due.at > this.current) this.current = due.at;
      due.land();
    }
    if (at > this.current) this.current = at;
  }

  /** `land` runs at the latest when time reaches `at`. */
  mustHappenBy(at: number, land: () => void): void {
    this.deadlines.push({ at, land });
  }
}

/**
 * A scheduler that releases steps in an order a test spells out, for
 * regression cases that must replay one interleaving whatever else changes.
 * Each entry of `script` names a step by part of its label ("#2 pay: ← GET
 * /payments/"); the next entry is released as soon as such a step is
 * pending. Meanwhile every other step flows in the order it was scheduled,
 * except those a later entry names, which wait for their turn.
 */
export class ScriptedScheduler implements PromiseScheduler {
  private readonly pending: { label: string; release: () => void }[] = [];
  private readonly released: string[] = [];
  private readonly script: string[];

  constructor(script: readonly string[]) {
    this.script = [...script];
  }

  schedule<T>(task: Promise<T>, label = ''): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ label, release: () => void task.then(resolve, reject) });
    });
  }

  count(): number {
    return this.pending.length;
  }

  /** Script entries not yet released. */
  get unplayed(): readonly string[] {
    return this.script;
  }

  async waitOne(): Promise<void> {
    const [next] = this.script;
    let index = next === undefined ? -1 : this.pending.findIndex((task) => task.label.includes(next));
    if (index >= 0) this.script.shift();
    else index = this.pending.findIndex((task) => !this.script.some((entry) => task.label.includes(entry)));
    if (index < 0)
      throw new Error(
        `script stuck: waiting for "${next}", pending: ${this.pending.map((task) => task.label).join(' | ')}\nreleased:\n${this.released.join('\n')}`,
      );
    const [task] = this.pending.splice(index, 1);
    this.released.push(task.label);
    task.release();
  }
}
