import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * README.md is the front page and docs/ the manual: every relative link in
 * them must reach a file that exists, and every `#anchor` a heading (or an
 * explicit id) of the page it names, as GitHub renders them. The README stays
 * a front page: at most README_MAX_LINES lines.
 */
const ROOT = path.join(__dirname, '../..');
const README_MAX_LINES = 200;

/** The pages checked: README.md and every docs/*.md. */
function pages(root: string): string[] {
  const docs = path.join(root, 'docs');
  const inDocs = existsSync(docs)
    ? readdirSync(docs)
        .filter((name) => name.endsWith('.md'))
        .map((name) => path.join(docs, name))
    : [];
  return [path.join(root, 'README.md'), ...inDocs.sort()];
}

/** The page without fenced code blocks (their lines blanked, so line numbers stay). */
function withoutCodeBlocks(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const opening = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && opening) {
      fence = opening;
      return '';
    }
    if (fence !== undefined) {
      if (line.trim().startsWith(fence[0].repeat(fence.length)) && line.trim().replace(/[`~]/g, '') === '') fence = undefined;
      return '';
    }
    return line;
  });
}

const withoutInlineCode = (line: string) => line.replace(/(`+)[\s\S]*?\1/g, '');

/** GitHub's anchor for a heading (github-slugger): its text lowercased, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link shows its text
    .replace(/<[^>]+>/g, '') // inline HTML shows nothing of its tags
    .replace(/[`*]/g, ''); // code spans and emphasis show their content
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page offers: its headings' slugs (repeats numbered -1, -2, … as GitHub does) and explicit ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCodeBlocks(markdown)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const base = slug(heading);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const match of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1]);
  }
  return anchors;
}

/** The link targets of a page, with their line numbers: inline links and images, reference definitions, HTML href/src. */
function linksOf(markdown: string): { line: number; target: string }[] {
  const links: { line: number; target: string }[] = [];
  withoutCodeBlocks(markdown).forEach((raw, index) => {
    const line = withoutInlineCode(raw);
    const targets = [
      ...[...line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]),
      ...[...line.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g)].map((match) => match[1]),
      ...[...line.matchAll(/\b(?:href|src)="([^"]+)"/g)].map((match) => match[1]),
    ];
    for (const target of targets) links.push({ line: index + 1, target });
  });
  return links;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

/** Each relative link of the pages that leads nowhere: "file:line: target (why)". */
function linkProblems(root: string, files: string[]): string[] {
  const anchorCache = new Map<string, Set<string>>();
  const anchorsIn = (file: string) => {
    if (!anchorCache.has(file)) anchorCache.set(file, anchorsOf(readFileSync(file, 'utf8')));
    return anchorCache.get(file)!;
  };
  const problems: string[] = [];
  for (const file of files) {
    for (const { line, target } of linksOf(readFileSync(file, 'utf8'))) {
      if (isExternal(target)) continue;
      const where = `${path.relative(root, file)}:${line}: ${target}`;
      const hash = target.indexOf('#');
      const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const resolved = pathPart === '' ? file : path.resolve(path.dirname(file), pathPart);
      if (!existsSync(resolved)) {
        problems.push(`${where} (no such file: ${path.relative(root, resolved)})`);
        continue;
      }
      if (anchor === undefined || anchor === '') continue;
      if (statSync(resolved).isFile() && resolved.endsWith('.md')) {
        if (!anchorsIn(resolved).has(anchor)) problems.push(`${where} (no heading or id "${anchor}" in ${path.relative(root, resolved)})`);
      } else if (!/^L\d+(-L\d+)?$/.test(anchor)) {
        problems.push(`${where} (an anchor into a file that is not Markdown: only line anchors such as #L10)`);
      }
    }
  }
  return problems;
}

const lineCount = (text: string) => text.replace(/\n$/, '').split('\n').length;

describe('README.md and docs/', () => {
  it('link only to files that exist, and to anchors those pages have', () => {
    const files = pages(ROOT);
    expect(files.length).toBeGreaterThan(1);
    expect(linkProblems(ROOT, files)).toEqual([]);
  });

  it(`keep the README a front page: at most ${README_MAX_LINES} lines`, () => {
    expect(lineCount(readFileSync(path.join(ROOT, 'README.md'), 'utf8'))).toBeLessThanOrEqual(README_MAX_LINES);
  });
});

describe('the link check itself', () => {
  it('makes GitHub’s anchors', () => {
    expect(slug('Checkout: POST /baskets/{basketId}/orders')).toBe('checkout-post-basketsbasketidorders');
    expect(slug('A refund stuck in `refunding`')).toBe('a-refund-stuck-in-refunding');
    expect(slug('Admin routes (no auth)')).toBe('admin-routes-no-auth');
    expect(slug('The benchmark: `npm run bench`')).toBe('the-benchmark-npm-run-bench');
    expect(slug('Idempotency-Key')).toBe('idempotency-key');
    expect(slug('snake_case and **bold** [a link](x.md)')).toBe('snake_case-and-bold-a-link');
    expect([...anchorsOf('# Title\n## Notes\n```\n## not a heading\n```\n## Notes\n<a id="custom"></a>\n')]).toEqual([
      'title',
      'notes',
      'notes-1',
      'custom',
    ]);
  });

  it('finds links in text, not in code', () => {
    const page = [
      '[a](a.md) and ![b](img/b.svg "title")',
      '`[not](code.md)`',
      '```',
      '[not](fenced.md)',
      '```',
      '[ref]: ref.md#x',
      '<a href="html.md">h</a>',
    ].join('\n');
    expect(linksOf(page).map(({ target }) => target)).toEqual(['a.md', 'img/b.svg', 'ref.md#x', 'html.md']);
  });

  it('reports a missing file, a missing anchor and an anchor into a non-Markdown file, and nothing else', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'docs-links-'));
    try {
      mkdirSync(path.join(root, 'docs'));
      writeFileSync(path.join(root, 'code.ts'), '');
      writeFileSync(path.join(root, 'docs', 'guide.md'), '# Guide\n## Set up\nBack to the [README](../README.md#start).\n');
      writeFileSync(
        path.join(root, 'README.md'),
        [
          '# Start',
          '[guide](docs/guide.md), [set up](docs/guide.md#set-up), [here](#start), [site](https://example.com/x.md), [line](code.ts#L3)',
          '[gone](docs/gone.md) [no anchor](docs/guide.md#setup) [not here](#nowhere) [into code](code.ts#main)',
        ].join('\n'),
      );
      expect(linkProblems(root, pages(root))).toEqual([
        'README.md:3: docs/gone.md (no such file: docs/gone.md)',
        'README.md:3: docs/guide.md#setup (no heading or id "setup" in docs/guide.md)',
        'README.md:3: #nowhere (no heading or id "nowhere" in README.md)',
        'README.md:3: code.ts#main (an anchor into a file that is not Markdown: only line anchors such as #L10)',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
