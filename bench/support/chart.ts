/**
 * bench/results/latest.svg: per fault profile and concurrency, the latency
 * distribution of each flow beside its floor, as box plots on one log scale
 * (box p25–p75, whiskers p5–p99, tick at p50, × at the maximum). Hand-written
 * SVG: no charting dependency.
 */
import type { CellResult, FaultProfileName } from './flows';
import { FAULT_PROFILE_LABELS } from './flows';
import type { Summary } from './stats';

interface Bar {
  label: string;
  summary?: Summary;
  fill: string;
  stroke: string;
  note?: string;
}

const WIDTH = 1040;
const LABEL_W = 200;
const PLOT_X = LABEL_W + 10;
const PLOT_W = 560;
const TEXT_X = PLOT_X + PLOT_W + 14;
const ROW_H = 18;
const PANEL_GAP = 14;
const PANEL_TITLE_H = 22;

const COLOURS = {
  floor: { fill: '#d1d5db', stroke: '#4b5563' },
  payFloor: { fill: '#e5e7eb', stroke: '#6b7280' },
  oneShot: { fill: '#bfdbfe', stroke: '#1d4ed8' },
  prepared: { fill: '#bbf7d0', stroke: '#15803d' },
  preparedPay: { fill: '#dcfce7', stroke: '#16a34a' },
  naive: { fill: '#fed7aa', stroke: '#c2410c' },
};

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function formatMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(0)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}

function barsOf(cells: CellResult[], faults: FaultProfileName, concurrency: number): Bar[] {
  const find = (flow: CellResult['flow']) => cells.find((c) => c.faults === faults && c.concurrency === concurrency && c.flow === flow);
  const floor = find('floor');
  const oneShot = find('one-shot');
  const prepared = find('prepared');
  const naive = find('naive');
  const ok = (cell?: CellResult) => (cell?.status === 'measured' ? cell : undefined);
  const notRun = (cell?: CellResult) => (cell?.status === 'not run' ? 'not run' : cell ? undefined : 'not in this run');
  return [
    { label: 'floor: POST order + payment', summary: ok(floor)?.ms, ...COLOURS.floor, note: notRun(floor) },
    { label: 'one-shot', summary: ok(oneShot)?.ms, ...COLOURS.oneShot, note: notRun(oneShot) },
    { label: 'prepared: prepare + pay', summary: ok(prepared)?.ms, ...COLOURS.prepared, note: notRun(prepared) },
    { label: 'naive (starter)', summary: ok(naive)?.ms, ...COLOURS.naive, note: notRun(naive) },
    { label: 'floor: POST payment', summary: ok(floor)?.payMs, ...COLOURS.payFloor, note: notRun(floor) },
    { label: 'prepared: pay call', summary: ok(prepared)?.payMs, ...COLOURS.preparedPay, note: notRun(prepared) },
  ];
}

/** Log-scale axis ticks 1-2-5 between lo and hi. */
function ticks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let decade = 10 ** Math.floor(Math.log10(lo)); decade <= hi; decade *= 10)
    for (const m of [1, 2, 5]) if (decade * m >= lo && decade * m <= hi) out.push(decade * m);
  return out;
}

export function renderChart(cells: CellResult[], meta: { title: string; subtitle: string[] }): string {
  const measured = cells.filter((c) => c.status === 'measured');
  const values = measured.flatMap((c) => [c.ms, c.payMs].filter((s): s is Summary => s !== undefined)).flatMap((s) => [s.p5, s.max]);
  const lo = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...values, 1000))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values, 100)));
  const x = (ms: number) => PLOT_X + (PLOT_W * (Math.log10(Math.max(ms, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));

  const panels: Array<{ faults: FaultProfileName; concurrency: number }> = [];
  for (const faults of [...new Set(cells.map((c) => c.faults))])
    for (const concurrency of [...new Set(cells.map((c) => c.concurrency))].sort((a, b) => a - b)) panels.push({ faults, concurrency });

  const parts: string[] = [];
  let y = 78;
  const axisTicks = ticks(lo, hi);
  for (const panel of panels) {
    const bars = barsOf(cells, panel.faults, panel.concurrency);
    const height = PANEL_TITLE_H + bars.length * ROW_H + 6;
    parts.push(
      `<text x="10" y="${y + 15}" class="panel">${escape(`${FAULT_PROFILE_LABELS[panel.faults]} · ${panel.concurrency} terminal${panel.concurrency === 1 ? '' : 's'}`)}</text>`,
    );
    for (const tick of axisTicks)
      parts.push(
        `<line x1="${x(tick).toFixed(1)}" y1="${y + PANEL_TITLE_H - 2}" x2="${x(tick).toFixed(1)}" y2="${y + height - 4}" class="grid"/>`,
      );
    bars.forEach((bar, index) => {
      const top = y + PANEL_TITLE_H + index * ROW_H;
      const mid = top + ROW_H / 2;
      parts.push(`<text x="${LABEL_W}" y="${mid + 4}" class="label" text-anchor="end">${escape(bar.label)}</text>`);
      const s = bar.summary;
      if (!s) {
        parts.push(`<text x="${PLOT_X + 4}" y="${mid + 4}" class="muted">${escape(bar.note ?? 'no data')}</text>`);
        return;
      }
      parts.push(
        `<line x1="${x(s.p5).toFixed(1)}" y1="${mid}" x2="${x(s.p99).toFixed(1)}" y2="${mid}" stroke="${bar.stroke}" stroke-width="1.2"/>`,
      );
      for (const end of [s.p5, s.p99])
        parts.push(
          `<line x1="${x(end).toFixed(1)}" y1="${mid - 4}" x2="${x(end).toFixed(1)}" y2="${mid + 4}" stroke="${bar.stroke}" stroke-width="1.2"/>`,
        );
      const boxX = x(s.p25);
      parts.push(
        `<rect x="${boxX.toFixed(1)}" y="${top + 3}" width="${Math.max(1.5, x(s.p75) - boxX).toFixed(1)}" height="${ROW_H - 6}" fill="${bar.fill}" stroke="${bar.stroke}"/>`,
      );
      parts.push(
        `<line x1="${x(s.p50).toFixed(1)}" y1="${top + 2}" x2="${x(s.p50).toFixed(1)}" y2="${top + ROW_H - 2}" stroke="${bar.stroke}" stroke-width="2.5"/>`,
      );
      const mx = x(s.max);
      parts.push(`<path d="M${(mx - 3).toFixed(1)} ${mid - 3}l6 6m0 -6l-6 6" stroke="${bar.stroke}" stroke-width="1.3"/>`);
      parts.push(
        `<text x="${TEXT_X}" y="${mid + 4}" class="value">${escape(`p50 ${formatMs(s.p50)} · p95 ${formatMs(s.p95)} · p99 ${formatMs(s.p99)}`)}</text>`,
      );
    });
    y += height + PANEL_GAP;
  }
  // The shared axis, under the last panel.
  parts.push(`<line x1="${PLOT_X}" y1="${y - PANEL_GAP + 2}" x2="${PLOT_X + PLOT_W}" y2="${y - PANEL_GAP + 2}" class="axis"/>`);
  const tickLabel = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);
  for (const tick of axisTicks)
    parts.push(
      `<text x="${x(tick).toFixed(1)}" y="${y - PANEL_GAP + 16}" class="tick" text-anchor="middle">${escape(tickLabel(tick))}</text>`,
    );
  parts.push(
    `<text x="${PLOT_X + PLOT_W / 2}" y="${y - PANEL_GAP + 32}" class="tick" text-anchor="middle">latency per checkout (log scale)</text>`,
  );
  const total = y - PANEL_GAP + 44;

  const legend = `<g transform="translate(${PLOT_X},66)"><rect x="0" y="-9" width="26" height="10" fill="#f3f4f6" stroke="#6b7280"/><line x1="13" y1="-11" x2="13" y2="3" stroke="#6b7280" stroke-width="2.5"/><text x="32" y="0" class="muted">box p25–p75, thick tick p50, whiskers p5–p99, × max</text></g>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${total}" viewBox="0 0 ${WIDTH} ${total}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
.title{font-size:15px;font-weight:600;fill:#111827}.sub{font-size:11px;fill:#4b5563}.panel{font-size:12.5px;font-weight:600;fill:#111827}
.label{font-size:11px;fill:#374151}.value{font-size:10.5px;fill:#374151}.muted{font-size:10.5px;fill:#6b7280}.tick{font-size:10.5px;fill:#4b5563}
.grid{stroke:#eef0f3;stroke-width:1}.axis{stroke:#9ca3af;stroke-width:1}
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="20" class="title">${escape(meta.title)}</text>
${meta.subtitle.map((line, index) => `<text x="10" y="${36 + 13 * index}" class="sub">${escape(line)}</text>`).join('\n')}
${legend}
${parts.join('\n')}
</svg>
`;
}
