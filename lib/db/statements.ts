/**
 * A small Postgres lexer for what the Data API adapter sends: it splits a
 * script into statements (the Data API runs one statement per call) and drops
 * comments, outside quoted text only. Comments go because the Data API scans
 * the text for `:name` parameters and an emulator cuts it at the first `;`,
 * and neither should have to understand comments.
 */

const IDENTIFIER_CHAR = /[A-Za-z0-9_$]/;
const DOLLAR_TAG = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/;

/** The statements of `script` in order, without comments, trailing semicolons or empty statements. */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current = '';
  scan(script, {
    text: (chunk) => (current += chunk),
    statementEnd: () => {
      if (current.trim()) statements.push(current.trim());
      current = '';
    },
  });
  if (current.trim()) statements.push(current.trim());
  return statements;
}

/** `text` without its comments and without a semicolon at its end. */
export function stripComments(text: string): string {
  let out = '';
  scan(text, { text: (chunk) => (out += chunk), statementEnd: () => (out += ';') });
  return out.trim().replace(/;+$/, '').trim();
}

interface Sink {
  text(chunk: string): void;
  statementEnd(): void;
}

function scan(sql: string, sink: Sink): void {
  let i = 0;
  while (i < sql.length) {
    const char = sql[i];
    const next = sql[i + 1];
    if (char === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
      sink.text(' ');
    } else if (char === '/' && next === '*') {
      i = blockCommentEnd(sql, i);
      sink.text(' ');
    } else if (char === "'") {
      const escapes = /[Ee]/.test(sql[i - 1] ?? '') && !IDENTIFIER_CHAR.test(sql[i - 2] ?? '');
      const end = quotedEnd(sql, i, "'", escapes);
      sink.text(sql.slice(i, end));
      i = end;
    } else if (char === '"') {
      const end = quotedEnd(sql, i, '"', false);
      sink.text(sql.slice(i, end));
      i = end;
    } else if (char === '$' && !IDENTIFIER_CHAR.test(sql[i - 1] ?? '') && DOLLAR_TAG.test(sql.slice(i, i + 66))) {
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 66))![0];
      const close = sql.indexOf(tag, i + tag.length);
      const end = close === -1 ? sql.length : close + tag.length;
      sink.text(sql.slice(i, end));
      i = end;
    } else if (char === ';') {
      sink.statementEnd();
      i += 1;
    } else {
      let end = i + 1;
      while (end < sql.length && !'-/\'"$;'.includes(sql[end])) end++;
      sink.text(sql.slice(i, end));
      i = end;
    }
  }
}

/** Index just past a quoted run starting at `start`; a doubled quote (or, with escapes, a backslash) does not end it. */
function quotedEnd(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    if (backslashEscapes && sql[i] === '\\') {
      i += 2;
    } else if (sql[i] === quote) {
      if (sql[i + 1] !== quote) return i + 1;
      i += 2;
    } else {
      i += 1;
    }
  }
  return sql.length;
}

/** Index just past a block comment starting at `start`; Postgres block comments nest. */
function blockCommentEnd(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth += 1;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  return sql.length;
}
