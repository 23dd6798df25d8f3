import { PosClient, type FetchLike, type Outcome } from '../../client/src';
import { signDevToken } from '../../dev/simulator';
import { ledgerProblems, type LedgerProblems } from '../../tests/support/ledger';
import { formatMs } from './chart';
import type { GoalRow } from './goals';
import type { Row } from './report';
import { planBaskets, sleep, type BenchStack } from './harness';
import { runPool } from './pool';
import { countBy, summarize, type Summary } from './stats';
import { Cashier, claimsNothingCharged, describeOutcome } from './cashier';

/** How long a terminal in the burst keeps at its checkout (retrying what decides nothing) before it gives up. */
export const BURST_BUDGET_MS = 30_000;
/** The checkouts right after the burst, one after another. */
const AFTERWARDS = 8;

/** One terminal's checkout in the burst. */
interface BurstCheckout {
  final: Outcome;
  /** From the burst's start to the final answer. */
  ms: number;
  attempts: number;
  /** Every answer it got was one of ours (our error shape, or an order), not the emulator's or none at all (a lost answer, which the client retries). */
  allOurs: boolean;
  /** Every 429/503/504 it got carried Retry-After. */
  retryAfterOnEvery: boolean;
  orderId?: string;
}

export interface BurstResult {
  terminals: number;
  /** Final answers within the budget, by "status code". */
  answers: Record<string, number>;
  paid: number;
  /** Terminals that got an answer that was not ours, or none, at any point. */
  notOurs: number;
  /** Terminals shed (429/503) without Retry-After at some point. */
  withoutRetryAfter: number;
  finalMs: Summary;
  /** The checkouts right after the burst: how many paid, and how long each took. */
  afterwards: { paid: number; of: number; ms: Summary; answers: Record<string, number> };
  money: LedgerProblems & { toldPaidWithoutCharge: string[]; chargedButToldNotPaid: string[] };
}

/** An answer our API gives: our error shape, or an order (anything else is the emulator's). */
function isOurs(body: any): boolean {
  return typeof body?.error?.code === 'string' || typeof body?.id === 'string';
}

const sheds = (status: number) => status === 429 || status === 503 || status === 504;

/**
 * One terminal's checkout through the client (client/): the same key again
 * after anything that decides nothing, Retry-After honoured, within what is
 * left of the burst's 30 s. Every answer on the way is looked at as it comes:
 * was it ours, and did a shed carry Retry-After?
 */
async function checkoutWithin(terminal: Cashier, basketId: string, startedAt: number): Promise<BurstCheckout> {
  let allOurs = true;
  let retryAfterOnEvery = true;
  const watching: FetchLike = async (url, init) => {
    try {
      const response = await fetch(url, init);
      const text = await response.clone().text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: not ours
      }
      allOurs &&= isOurs(body);
      if (sheds(response.status) && !response.headers.has('retry-after')) retryAfterOnEvery = false;
      return response;
    } catch (error) {
      allOurs = false;
      throw error;
    }
  };
  const pos = new PosClient({ baseUrl: terminal.apiUrl, token: terminal.token, fetch: watching });
  const final = await pos.checkout(basketId, { budgetMs: Math.max(0, BURST_BUDGET_MS - (performance.now() - startedAt)) });
  return { final, ms: performance.now() - startedAt, attempts: final.attempts, allOurs, retryAfterOnEvery, orderId: final.orderId };
}

/**
 * A burst cell: `terminals` cashiers check out at the same instant (their
 * baskets built first), each retrying with its key as a terminal would within
 * 30 s; then checkouts one after another, as after a lunch rush; then the money
 * is judged against the upstream's ledger.
 */
export async function runBurst(bench: BenchStack, terminals: number, seed: number): Promise<BurstResult> {
  const cashiers = await Promise.all(
    Array.from({ length: terminals + AFTERWARDS }, async (_, index) => {
      const user = `burst-${seed}-${terminals}-${index}@bench.example`;
      return { user, terminal: new Cashier(bench.apiUrl, await signDevToken(bench.stack.jwtSecret, user), { budgetMs: BURST_BUDGET_MS }) };
    }),
  );
  const plans = planBaskets(cashiers.length, seed + terminals);
  const baskets = await runPool(cashiers.length, 8, async (index) => {
    const made = await cashiers[index].terminal.basketWith(plans[index]);
    if ('failed' in made) throw new Error(`burst setup: ${made.failed}`);
    return made.basketId;
  });

  const startedAt = performance.now();
  const burst = await Promise.all(
    cashiers.slice(0, terminals).map(({ terminal }, index) => checkoutWithin(terminal, baskets[index], startedAt)),
  );

  const afterwards: BurstCheckout[] = [];
  for (let index = terminals; index < cashiers.length; index++)
    afterwards.push(await checkoutWithin(cashiers[index].terminal, baskets[index], performance.now()));

  await sleep(2000); // completions started after the replies
  const users = new Set(cashiers.map((cashier) => cashier.user));
  const ledger = await bench.sim.ledger();
  const ours = {
    ...ledger,
    orders: ledger.orders.filter((o) => users.has(o.user_id)),
    payments: ledger.payments.filter((p) => users.has(p.user_id)),
  };
  const charged = new Set(ours.payments.filter((p) => p.status === 'completed' || p.status === 'refunded').map((p) => p.order_id));
  const rows = await bench.sql<
    { id: string; upstream_id: string }[]
  >`select id::text, coalesce(upstream_order_id, id::text) as upstream_id from orders`;
  const chargedOrders = new Set(rows.filter((row) => charged.has(row.upstream_id)).map((row) => row.id));
  const all = [...burst, ...afterwards];
  const paidAnswer = (c: BurstCheckout) => c.final.kind === 'paid';
  const saidNotCharged = (c: BurstCheckout) => claimsNothingCharged(c.final);
  return {
    terminals,
    answers: countBy(burst, (c) => describeOutcome(c.final)),
    paid: burst.filter(paidAnswer).length,
    notOurs: burst.filter((c) => !c.allOurs).length,
    withoutRetryAfter: burst.filter((c) => !c.retryAfterOnEvery).length,
    finalMs: summarize(burst.map((c) => c.ms)),
    afterwards: {
      paid: afterwards.filter(paidAnswer).length,
      of: AFTERWARDS,
      ms: summarize(afterwards.map((c) => c.ms)),
      answers: countBy(afterwards, (c) => describeOutcome(c.final)),
    },
    money: {
      ...(await ledgerProblems(ours, bench.sql)),
      toldPaidWithoutCharge: all.filter((c) => paidAnswer(c) && c.orderId && !chargedOrders.has(c.orderId)).map((c) => c.orderId!),
      chargedButToldNotPaid: all.filter((c) => saidNotCharged(c) && c.orderId && chargedOrders.has(c.orderId)).map((c) => c.orderId!),
    },
  };
}

/** One row of the burst table. */
export function describeBurst(result: BurstResult): string {
  const problems = Object.values(result.money).reduce((sum, ids) => sum + ids.length, 0);
  const { finalMs, afterwards } = result;
  return [
    `${result.terminals} terminals at once: ${result.paid} paid (${((100 * result.paid) / result.terminals).toFixed(0)} %); final answers ${JSON.stringify(result.answers)}`,
    `  not our answer at some point: ${result.notOurs}; shed without Retry-After: ${result.withoutRetryAfter}; final answer after p50 ${finalMs.p50} / p95 ${finalMs.p95} / max ${finalMs.max} ms`,
    `  then ${afterwards.of} one after another: ${afterwards.paid} paid, p50 ${afterwards.ms.p50} / max ${afterwards.ms.max} ms ${JSON.stringify(afterwards.answers)}`,
    `  money problems: ${problems} ${problems ? JSON.stringify(result.money) : ''}`,
  ].join('\n');
}

/** The `--burst` flag the burst, soak and bench scripts share: sizes of the burst cells, or none. */
export const BURST_SIZES = ['none', '50', '150', '300'] as const;
export const burstFlag = (envName: string) => ({
  help: 'burst cells after the run: that many terminals at once on a fault-free upstream, then 8 one after another (none: skip)',
  items: BURST_SIZES,
  default: '50,150',
  env: envName,
});

/** The sizes a `--burst` value asks for (none wins). */
export const burstSizes = (items: readonly string[]): number[] => (items.includes('none') ? [] : items.map(Number));

/**
 * The burst cells on a running bench stack: the simulator is reset to a
 * fault-free upstream with the given latency (its ledger kept: each cell
 * judges only its own users' money), then each size in turn.
 */
export async function runBurstCells(
  bench: BenchStack,
  sizes: number[],
  seed: number,
  latency: { medianMs: number; p99Ms: number },
  log: (line: string) => void,
): Promise<BurstResult[]> {
  if (sizes.length === 0) return [];
  await bench.sim.configure({ seed, latency, faults: { rate503: 0, rate500After: 0, rateHangAfter: 0, rateReset: 0 }, declineRate: 0 });
  const cells: BurstResult[] = [];
  for (const size of sizes) {
    const cell = await runBurst(bench, size, seed);
    log(describeBurst(cell));
    cells.push(cell);
  }
  return cells;
}

export const burstMoneyProblems = (cells: BurstResult[]) =>
  cells.reduce((sum, cell) => sum + Object.values(cell.money).reduce((n, ids) => n + ids.length, 0), 0);

/** The burst table (docs/benchmark.md and console). */
export function burstRows(cells: BurstResult[]): { header: string[]; rows: Row[] } {
  return {
    header: [
      'terminals at once',
      'paid',
      'final answers',
      'not our answer',
      'shed without Retry-After',
      'final answer p50 / p95 / max',
      '8 right after: paid',
      'their p50 / max',
      'money problems',
    ],
    rows: cells.map((cell) => [
      cell.terminals,
      `${cell.paid} (${((100 * cell.paid) / cell.terminals).toFixed(0)} %)`,
      Object.entries(cell.answers)
        .map(([answer, n]) => `${answer} × ${n}`)
        .join(', '),
      cell.notOurs,
      cell.withoutRetryAfter,
      `${formatMs(cell.finalMs.p50)} / ${formatMs(cell.finalMs.p95)} / ${formatMs(cell.finalMs.max)}`,
      `${cell.afterwards.paid} of ${cell.afterwards.of}`,
      `${formatMs(cell.afterwards.ms.p50)} / ${formatMs(cell.afterwards.ms.max)}`,
      burstMoneyProblems([cell]),
    ]),
  };
}

/** The burst goals of issue 19, for the largest cell run: at least 90 % paid, every answer ours and final within 30 s, the 8 after all paid, no money problem. */
export function burstGoals(cells: BurstResult[]): GoalRow[] {
  const largest = [...cells].sort((a, b) => b.terminals - a.terminals)[0];
  if (!largest) return [];
  const n = largest.terminals;
  const problems = burstMoneyProblems(cells);
  const clear = n - largest.notOurs - largest.withoutRetryAfter;
  return [
    {
      goal: `${n} terminals checking out at once: paid`,
      target: '≥ 90 %',
      measured: `${largest.paid} of ${n} (${((100 * largest.paid) / n).toFixed(1)} %)`,
      status: largest.paid >= 0.9 * n ? 'pass' : 'miss',
    },
    {
      goal: `${n} at once: every answer ours (paid, or 429/503 with Retry-After), the last within 30 s`,
      target: `${n} of ${n}, max ≤ 30 s`,
      measured: `${clear} of ${n}, max ${formatMs(largest.finalMs.max)}`,
      status: clear === n && largest.finalMs.max <= BURST_BUDGET_MS ? 'pass' : 'miss',
    },
    {
      goal: `the ${largest.afterwards.of} checkouts right after, one at a time: paid`,
      target: `${largest.afterwards.of} of ${largest.afterwards.of}`,
      measured: `${largest.afterwards.paid} of ${largest.afterwards.of}, p50 ${formatMs(largest.afterwards.ms.p50)}`,
      status: largest.afterwards.paid === largest.afterwards.of ? 'pass' : 'miss',
    },
    {
      goal: 'money in the burst cells: no double charge, no charge unknown to us, no answer that contradicts the ledger',
      target: '0',
      measured: String(problems),
      status: problems === 0 ? 'pass' : 'miss',
    },
  ];
}
