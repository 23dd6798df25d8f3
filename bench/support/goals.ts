/**
 * The goals of issue 9, checked against one bench run (never by timed tests):
 * each with its target, the measured value and pass / miss / not measured.
 */
import { MAX_ZIP_BYTES, type ColdStart } from './bundles';
import { formatMs } from './chart';
import type { CellResult, FaultProfileName, FlowName } from './flows';
import type { Summary } from './stats';

export interface GoalRow {
  goal: string;
  target: string;
  measured: string;
  status: 'pass' | 'miss' | 'not measured';
}

export interface BasketTimings {
  concurrency: number;
  /** DATABASE_CALL_DELAY_MS of the handlers timed (the goals read the 0 ms timings). */
  dbDelayMs?: number;
  write: Summary;
  read: Summary;
}

export interface BundleReport {
  zips: Array<{ fn: string; bytes: number }>;
  coldStarts?: ColdStart[];
  error?: string;
}

const ratio = (value: number, floor: number) => (floor > 0 ? value / floor : Infinity);
const times = (r: number) => `${r.toFixed(2)} ×`;

export function evaluateGoals(cells: CellResult[], baskets: BasketTimings[], bundles: BundleReport | undefined): GoalRow[] {
  const cell = (faults: FaultProfileName, concurrency: number, flow: FlowName) =>
    cells.find((c) => c.faults === faults && c.concurrency === concurrency && c.flow === flow && c.status === 'measured');
  const rows: GoalRow[] = [];
  const missing = (goal: string, target: string, why: string) => rows.push({ goal, target, measured: why, status: 'not measured' });
  const whyMissing = (...wanted: Array<[FaultProfileName, number, FlowName]>) => {
    const absent = wanted.filter(([f, c, fl]) => !cell(f, c, fl));
    const notes = absent.map(
      ([f, c, fl]) => cells.find((x) => x.faults === f && x.concurrency === c && x.flow === fl)?.note ?? `${fl} ${f} c${c} not in this run`,
    );
    return notes.join('; ');
  };

  /** flow percentile ≤ factor × floor percentile, in one cell. */
  const latencyGoal = (
    goal: string,
    faults: FaultProfileName,
    concurrency: number,
    flow: FlowName,
    p: 'p50' | 'p95' | 'p99',
    factor: number,
  ) => {
    const target = `≤ ${factor} × floor ${p}`;
    const ours = cell(faults, concurrency, flow);
    const floor = cell(faults, concurrency, 'floor');
    if (!ours?.ms || !floor?.ms) return missing(goal, target, whyMissing([faults, concurrency, flow], [faults, concurrency, 'floor']));
    const r = ratio(ours.ms[p], floor.ms[p]);
    rows.push({
      goal,
      target,
      measured: `${formatMs(ours.ms[p])} vs ${formatMs(floor.ms[p])} = ${times(r)}`,
      status: r <= factor ? 'pass' : 'miss',
    });
  };

  latencyGoal('one-shot p50, no faults, 1 terminal', 'none', 1, 'one-shot', 'p50', 1.05);
  latencyGoal('one-shot p99, no faults, 1 terminal', 'none', 1, 'one-shot', 'p99', 1.2);

  {
    const goal = 'prepared: pay call p50, no faults, 1 terminal';
    const target = '≤ 0.6 × one-shot floor p50';
    const prepared = cell('none', 1, 'prepared');
    const floor = cell('none', 1, 'floor');
    if (!prepared?.payMs || !floor?.ms) missing(goal, target, whyMissing(['none', 1, 'prepared'], ['none', 1, 'floor']));
    else {
      const r = ratio(prepared.payMs.p50, floor.ms.p50);
      rows.push({
        goal,
        target,
        measured: `${formatMs(prepared.payMs.p50)} vs ${formatMs(floor.ms.p50)} = ${times(r)}`,
        status: r <= 0.6 ? 'pass' : 'miss',
      });
    }
  }

  for (const flow of ['one-shot', 'prepared'] as const) {
    const goal = `${flow}, 10 % retry-safe faults, 8 terminals: paid or declined`;
    const c = cell('retry-safe', 8, flow);
    if (!c) missing(goal, '100 %', whyMissing(['retry-safe', 8, flow]));
    else
      rows.push({
        goal,
        target: '100 %',
        measured: `${c.paidOrDeclined} of ${c.orders} (${(100 * c.successRate).toFixed(1)} %)`,
        status: c.paidOrDeclined === c.orders ? 'pass' : 'miss',
      });
  }
  latencyGoal('one-shot p50, 10 % retry-safe faults, 8 terminals', 'retry-safe', 8, 'one-shot', 'p50', 1.15);
  latencyGoal('one-shot p99, 10 % retry-safe faults, 8 terminals', 'retry-safe', 8, 'one-shot', 'p99', 1.25);
  latencyGoal('one-shot p95, 10 % mixed faults, 8 terminals', 'mixed', 8, 'one-shot', 'p95', 2);
  latencyGoal('one-shot p95, 10 % mixed faults, 1 terminal', 'mixed', 1, 'one-shot', 'p95', 2);

  {
    const goal = '10 % mixed faults: every checkout not paid or declined is unknown, and only because its payment call was ambiguous';
    const target = '0 other';
    const ours = cells.filter(
      (c) => c.faults === 'mixed' && (c.flow === 'one-shot' || c.flow === 'prepared') && c.status === 'measured' && c.notPaid,
    );
    if (ours.length === 0) missing(goal, target, 'no mixed-fault cell of ours in this run');
    else {
      const unknown = ours.reduce((sum, c) => sum + c.notPaid!.unknownWithAmbiguousPayment, 0);
      const charged = ours.reduce((sum, c) => sum + c.notPaid!.unknownActuallyCharged, 0);
      const other = ours.reduce((sum, c) => sum + c.notPaid!.unexplained.length, 0);
      const checkouts = ours.reduce((sum, c) => sum + c.orders, 0);
      rows.push({
        goal,
        target,
        measured: `${checkouts} checkouts (${ours.map((c) => `${c.flow} c${c.concurrency}`).join(', ')}): ${unknown} unknown after a 500/hang/reset on POST /payments/ (${charged} of them charged upstream), ${other} other`,
        status: other === 0 ? 'pass' : 'miss',
      });
    }
  }

  {
    const goal = 'money, every cell of ours: no double charge, no charge unknown to us, no wrong amount';
    const ours = cells.filter((c) => (c.flow === 'one-shot' || c.flow === 'prepared') && c.status === 'measured' && c.money);
    if (ours.length === 0) missing(goal, '0', 'no cell of ours in this run');
    else {
      const sum = (key: 'doubleCharges' | 'chargesUnknownToUs' | 'wrongAmounts') =>
        ours.reduce((total, c) => total + (c.money![key] ?? 0), 0);
      const [double, unknown, wrong] = [sum('doubleCharges'), sum('chargesUnknownToUs'), sum('wrongAmounts')];
      rows.push({
        goal,
        target: '0',
        measured: `${double} double, ${unknown} unknown to us, ${wrong} wrong amounts over ${ours.reduce((t, c) => t + (c.money?.charged ?? 0), 0)} charges`,
        status: double + unknown + wrong === 0 ? 'pass' : 'miss',
      });
    }
  }

  {
    const goal = 'basket write (PUT item) p50, 1 terminal';
    const one = baskets.find((b) => b.concurrency === 1);
    if (!one) missing(goal, '≤ 10 ms', 'not in this run');
    else
      rows.push({
        goal,
        target: '≤ 10 ms',
        measured: `${formatMs(one.write.p50)} (read: GET basket ${formatMs(one.read.p50)})`,
        status: one.write.p50 <= 10 ? 'pass' : 'miss',
      });
  }

  {
    const goal = 'zipped bundle of each function';
    const target = '≤ 1 MB';
    if (!bundles || bundles.zips.length === 0) missing(goal, target, bundles?.error ?? 'bundles not built in this run');
    else {
      const largest = bundles.zips.reduce((a, b) => (b.bytes > a.bytes ? b : a));
      const over = bundles.zips.filter((z) => z.bytes > MAX_ZIP_BYTES);
      rows.push({
        goal,
        target,
        measured: `largest ${largest.fn} ${(largest.bytes / 1024).toFixed(0)} KB; ${over.length} of ${bundles.zips.length} over`,
        status: over.length === 0 ? 'pass' : 'miss',
      });
    }
  }
  return rows;
}
