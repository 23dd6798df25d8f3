import { readFileSync } from 'node:fs';
import path from 'node:path';
import { INVARIANT_IDS } from '../../dev/checkout-simulation/invariants';
import { AT_REST_STATES, canTransition, ORDER_STATES } from '../../lib/orders/state-machine';

/** docs/checkout-protocol.md is the protocol's one description: its tables must say what the code does. */
const page = readFileSync(path.join(__dirname, '../../docs/checkout-protocol.md'), 'utf8');

function tableUnder(heading: string): string[][] {
  const section = page.split(/^## /m).find((part) => part.startsWith(heading));
  if (!section) throw new Error(`no section "${heading}"`);
  return section
    .split('\n')
    .filter((line) => line.startsWith('|') && !line.startsWith('|---'))
    .slice(1)
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

describe('docs/checkout-protocol.md', () => {
  it('lists every state of the machine, and which are at rest', () => {
    const rows = tableUnder('States');
    expect(rows.map(([state]) => state).sort()).toEqual([...ORDER_STATES].sort());
    expect(
      rows
        .filter(([, , atRest]) => atRest === 'yes')
        .map(([state]) => state)
        .sort(),
    ).toEqual([...AT_REST_STATES].sort());
  });

  it('lists exactly the transitions the machine allows', () => {
    const documented = tableUnder('Transitions')
      .map(([from, to]) => `${from} → ${to}`)
      .sort();
    const allowed = ORDER_STATES.flatMap((from) =>
      ORDER_STATES.filter((to) => canTransition(from, to)).map((to) => `${from} → ${to}`),
    ).sort();
    expect(documented).toEqual(allowed);
  });

  it('lists the invariants the simulation checks, by the ids it reports them with', () => {
    const listed = [...page.matchAll(/^- \*\*(I\d+)\*\*/gm)].map((match) => match[1]);
    expect(listed).toEqual([...INVARIANT_IDS]);
  });
});
