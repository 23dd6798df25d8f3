/** The bench's tables: for the console (aligned text) and for docs/benchmark.md (markdown), from the same rows. */
import { readFileSync, writeFileSync } from 'node:fs';
import { formatMs } from './chart';
import { FAULT_PROFILE_LABELS, type CellResult, type FaultProfileName } from './flows';
import type { BasketTimings, BundleReport, GoalRow } from './goals';
import type { Summary } from './stats';
import { table } from './stats';

export type Row = (string | number)[];

const pct = (part: number, whole: number) => (whole ? `${((100 * part) / whole).toFixed(1)} %` : '–');
const x = (value: number | undefined, floor: number | undefined) => (value === undefined || !floor ? '–' : `${(value / floor).toFixed(2)}`);

/** The latency table: per fault profile and concurrency, each flow and its floor. */
export function resultRows(cells: CellResult[]): { header: string[]; rows: Row[] } {
  const header = [
    'faults',
    'terminals',
    'flow',
    'n',
    'paid or declined',
    'p50',
    'p95',
    'p99',
    'max',
    'p50 ÷ floor',
    'p99 ÷ floor',
    'double / unknown to us',
  ];
  const rows: Row[] = [];
  const groups = [
    ...new Map(cells.map((c) => [`${c.faults}/${c.concurrency}`, { faults: c.faults, concurrency: c.concurrency }])).values(),
  ];
  for (const { faults, concurrency } of groups) {
    const find = (flow: CellResult['flow']) => cells.find((c) => c.faults === faults && c.concurrency === concurrency && c.flow === flow);
    const floor = find('floor');
    const floorMs = floor?.status === 'measured' ? floor.ms : undefined;
    const floorPay = floor?.status === 'measured' ? floor.payMs : undefined;
    const line = (label: string, cell: CellResult | undefined, s: Summary | undefined, against: Summary | undefined, money: boolean) => {
      const lead = [FAULT_PROFILE_LABELS[faults as FaultProfileName], concurrency, label];
      if (!cell) return;
      if (cell.status !== 'measured' || !s) {
        rows.push([...lead, '–', 'not run', '–', '–', '–', '–', '–', '–', '–']);
        return;
      }
      rows.push([
        ...lead,
        s.n,
        pct(cell.paidOrDeclined, cell.orders),
        formatMs(s.p50),
        formatMs(s.p95),
        formatMs(s.p99),
        formatMs(s.max),
        x(s.p50, against?.p50),
        x(s.p99, against?.p99),
        money && cell.money ? `${cell.money.doubleCharges} / ${cell.money.chargesUnknownToUs}` : '–',
      ]);
    };
    line('floor: order + payment', floor, floorMs, floorMs, false);
    line('floor: payment alone', floor, floorPay, floorPay, false);
    line('naive', find('naive'), find('naive')?.ms, floorMs, true);
    line('one-shot', find('one-shot'), find('one-shot')?.ms, floorMs, true);
    line('prepared: prepare + pay', find('prepared'), find('prepared')?.ms, floorMs, true);
    line('prepared: pay call', find('prepared'), find('prepared')?.payMs, floorPay, false);
  }
  return { header, rows };
}

export function goalRows(goals: GoalRow[]): { header: string[]; rows: Row[] } {
  return { header: ['goal', 'target', 'measured', 'result'], rows: goals.map((g) => [g.goal, g.target, g.measured, g.status]) };
}

export function basketRows(baskets: BasketTimings[]): { header: string[]; rows: Row[] } {
  const delays = new Set(baskets.map((b) => b.dbDelayMs ?? 0));
  const delayed = delays.size > 1 || !delays.has(0);
  return {
    header: ['terminals', ...(delayed ? ['DB call delay'] : []), 'write (PUT item) p50', 'p95', 'read (GET basket) p50', 'p95', 'n each'],
    rows: baskets.map((b) => [
      b.concurrency,
      ...(delayed ? [`${b.dbDelayMs ?? 0} ms`] : []),
      formatMs(b.write.p50),
      formatMs(b.write.p95),
      formatMs(b.read.p50),
      formatMs(b.read.p95),
      b.write.n,
    ]),
  };
}

const OUR_FLOWS = ['one-shot', 'prepared'] as const;

/**
 * Our flows at each DATABASE_CALL_DELAY_MS (a wait per Data API round trip), against the lowest delay run.
 * The round trips on a checkout's path are read from its overhead (its time minus the upstream calls it
 * waited for, per checkout), which the upstream's random latency does not blur: overhead p50 added ÷ delay
 * added (retries and the idempotency key's own statements included). The pay call alone has no overhead
 * figure of its own (its upstream wait is counted with the prepare's).
 */
export function dbDelayRows(cells: CellResult[]): { header: string[]; rows: Row[] } {
  const header = [
    'faults',
    'terminals',
    'flow',
    'DB call delay',
    'n',
    'paid or declined',
    'p50',
    'p95',
    'p99',
    'p50 ÷ floor',
    'overhead p50',
    'round trips ≈',
  ];
  const rows: Row[] = [];
  const groups = [
    ...new Map(cells.map((c) => [`${c.faults}/${c.concurrency}`, { faults: c.faults, concurrency: c.concurrency }])).values(),
  ];
  for (const { faults, concurrency } of groups) {
    const inGroup = cells.filter((c) => c.faults === faults && c.concurrency === concurrency && c.status === 'measured');
    const floor = inGroup.find((c) => c.flow === 'floor');
    const lead = [FAULT_PROFILE_LABELS[faults as FaultProfileName], concurrency];
    const floorRow = (label: string, s: Summary) =>
      rows.push([
        ...lead,
        label,
        '–',
        s.n,
        pct(floor!.paidOrDeclined, floor!.orders),
        formatMs(s.p50),
        formatMs(s.p95),
        formatMs(s.p99),
        '1.00',
        '–',
        '–',
      ]);
    if (floor?.ms) floorRow('floor: order + payment', floor.ms);
    if (floor?.payMs) floorRow('floor: payment alone', floor.payMs);
    for (const flow of OUR_FLOWS) {
      const runs = inGroup.filter((c) => c.flow === flow).sort((a, b) => a.dbDelayMs - b.dbDelayMs);
      const parts: Array<[string, (c: CellResult) => Summary | undefined, Summary | undefined, boolean]> =
        flow === 'one-shot'
          ? [['one-shot', (c) => c.ms, floor?.ms, true]]
          : [
              ['prepared: prepare + pay', (c) => c.ms, floor?.ms, true],
              ['prepared: pay call', (c) => c.payMs, floor?.payMs, false],
            ];
      for (const [label, pick, against, withOverhead] of parts) {
        const base = runs[0];
        for (const cell of runs) {
          const s = pick(cell);
          if (!s) continue;
          const overhead = withOverhead ? cell.upstream.overheadMs : undefined;
          const baseOverhead = base.upstream.overheadMs;
          const roundTrips =
            overhead && baseOverhead && cell.dbDelayMs > base.dbDelayMs
              ? (overhead.p50 - baseOverhead.p50) / (cell.dbDelayMs - base.dbDelayMs)
              : undefined;
          rows.push([
            ...lead,
            label,
            `${cell.dbDelayMs} ms`,
            s.n,
            pct(cell.paidOrDeclined, cell.orders),
            formatMs(s.p50),
            formatMs(s.p95),
            formatMs(s.p99),
            x(s.p50, against?.p50),
            overhead ? formatMs(overhead.p50) : '–',
            roundTrips === undefined ? '–' : roundTrips.toFixed(1),
          ]);
        }
      }
    }
  }
  return { header, rows };
}

/** Per cell of ours: from the paid reply to the upstream order completed (ledger completed_at). */
export function completionRows(cells: CellResult[]): { header: string[]; rows: Row[] } {
  const delays = new Set(cells.map((c) => c.dbDelayMs));
  const delayed = delays.size > 1 || !delays.has(0);
  const header = [
    'faults',
    'terminals',
    'flow',
    ...(delayed ? ['DB call delay'] : []),
    'paid',
    'completed upstream',
    'reply → completed p50',
    'p99',
    'max',
  ];
  const rows: Row[] = cells
    .filter((c) => c.status === 'measured' && c.completion)
    .map((c) => {
      const done = c.completion!;
      return [
        FAULT_PROFILE_LABELS[c.faults],
        c.concurrency,
        c.flow,
        ...(delayed ? [`${c.dbDelayMs} ms`] : []),
        done.paid,
        `${done.completed}${done.completed < done.paid ? ` (waited ${formatMs(done.waitedMs)})` : ''}`,
        done.ms ? formatMs(done.ms.p50) : '–',
        done.ms ? formatMs(done.ms.p99) : '–',
        done.ms ? formatMs(done.ms.max) : '–',
      ];
    });
  return { header, rows };
}

export function bundleRows(bundles: BundleReport): { header: string[]; rows: Row[] } {
  const cold = new Map((bundles.coldStarts ?? []).map((c) => [c.fn, c]));
  return {
    header: ['function', 'zip', 'module load (cold)', 'node process'],
    rows: bundles.zips.map((z) => [
      z.fn,
      `${(z.bytes / 1024).toFixed(0)} KB`,
      cold.has(z.fn) ? `${cold.get(z.fn)!.loadMs} ms` : '–',
      cold.has(z.fn) ? `${cold.get(z.fn)!.processMs} ms` : '–',
    ]),
  };
}

export function textTable(t: { header: string[]; rows: Row[] }, alignRight?: (column: number) => boolean): string {
  return table(t.header, t.rows, alignRight);
}

export function markdownTable(
  t: { header: string[]; rows: Row[] },
  alignRight: (column: number) => boolean = (column) => column > 0,
): string {
  const cell = (value: string | number) => String(value).replace(/\|/g, '\\|');
  return [
    `| ${t.header.map(cell).join(' | ')} |`,
    `|${t.header.map((_, column) => (alignRight(column) ? '---:' : '---')).join('|')}|`,
    ...t.rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

export const README_START = '<!-- bench:latest:start (written by npm run bench; edit outside these markers) -->';
export const README_END = '<!-- bench:latest:end -->';

/** Replaces what stands between the markers in the page (docs/benchmark.md); false when the markers are missing. */
export function updateReadme(readmePath: string, block: string): boolean {
  const text = readFileSync(readmePath, 'utf8');
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start < 0 || end < start) return false;
  writeFileSync(readmePath, `${text.slice(0, start + README_START.length)}\n${block.trim()}\n${text.slice(end)}`);
  return true;
}
