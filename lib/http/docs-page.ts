import type { OpenApiDocument } from './openapi';

/**
 * GET /docs: the OpenAPI document as one self-contained HTML page (no script,
 * no font or stylesheet from elsewhere), rendered on the server from the
 * same document GET /openapi.json serves.
 */

/** A part of the OpenAPI document: JSON whose shape each renderer reads as the specification says. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
type Json = Record<string, any>;

const escape = (text: unknown): string =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** `code` spans and **bold** from the document's short Markdown; everything else is escaped. */
const inline = (text: string): string =>
  escape(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');

function prose(text: string | undefined): string {
  if (!text) return '';
  const blocks = text.split(/\n\n+/);
  return blocks
    .map((block) => {
      const lines = block.split('\n');
      if (lines.every((line) => line.startsWith('- ')))
        return `<ul>${lines.map((line) => `<li>${inline(line.slice(2))}</li>`).join('')}</ul>`;
      return `<p>${inline(block)}</p>`;
    })
    .join('');
}

const refName = (ref: string) => ref.split('/').pop()!;
const schemaLink = (name: string) => `<a href="#schema-${escape(name)}"><code>${escape(name)}</code></a>`;

/** A schema in a few words: its type, or a link to the named schema. */
function typeOf(schema: Json | undefined): string {
  if (!schema || Object.keys(schema).length === 0) return 'any';
  if (schema.$ref) return schemaLink(refName(schema.$ref));
  if (schema.allOf?.length === 1 && schema.allOf[0].$ref) return schemaLink(refName(schema.allOf[0].$ref));
  if (schema.anyOf || schema.oneOf) return (schema.anyOf ?? schema.oneOf).map(typeOf).join(' or ');
  if (schema.const !== undefined) return `<code>${escape(JSON.stringify(schema.const))}</code>`;
  if (schema.enum) return `one of ${schema.enum.map((value: unknown) => `<code>${escape(JSON.stringify(value))}</code>`).join(', ')}`;
  const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type ?? 'any'];
  return types
    .map((type) => {
      if (type === 'array') return `array of ${typeOf(schema.items)}`;
      if (type === 'string' && schema.format) return `string (${escape(schema.format)})`;
      return escape(type);
    })
    .join(' or ');
}

function constraints(schema: Json | undefined): string {
  if (!schema) return '';
  const notes: string[] = [];
  if (schema.minimum !== undefined) notes.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) notes.push(`≤ ${schema.maximum}`);
  if (schema.minLength !== undefined) notes.push(`length ≥ ${schema.minLength}`);
  if (schema.maxLength !== undefined) notes.push(`length ≤ ${schema.maxLength}`);
  if (schema.pattern && !schema.format) notes.push(`matches <code>${escape(schema.pattern)}</code>`);
  if (schema.default !== undefined) notes.push(`default <code>${escape(JSON.stringify(schema.default))}</code>`);
  return notes.join(', ');
}

function fieldsTable(schema: Json): string {
  const required = new Set<string>(schema.required ?? []);
  const rows = Object.entries<Json>(schema.properties ?? {}).map(
    ([name, field]) =>
      `<tr><td><code>${escape(name)}</code>${required.has(name) ? '' : ' <span class="muted">optional</span>'}</td><td>${typeOf(field)}</td><td>${field.description ? inline(field.description) : ''}${constraints(field) ? ` <span class="muted">${constraints(field)}</span>` : ''}</td></tr>`,
  );
  if (rows.length === 0) return '<p class="muted">An empty object.</p>';
  return `<table><thead><tr><th>field</th><th>type</th><th>notes</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function parametersTable(doc: OpenApiDocument, parameters: Json[]): string {
  const rows = parameters.map((parameter) => {
    const p: Json = parameter.$ref ? doc.components.parameters[refName(parameter.$ref)] : parameter;
    return `<tr><td><code>${escape(p.name)}</code></td><td>${escape(p.in)}${p.required ? '' : ' <span class="muted">optional</span>'}</td><td>${typeOf(p.schema)}</td><td>${p.description ? inline(p.description) : ''}${constraints(p.schema) ? ` <span class="muted">${constraints(p.schema)}</span>` : ''}</td></tr>`;
  });
  return `<table><thead><tr><th>parameter</th><th>in</th><th>type</th><th>notes</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function responsesTable(responses: Json): string {
  const rows = Object.entries<Json>(responses).map(([status, response]) => {
    const [mediaType, media] = Object.entries<Json>(response.content ?? {})[0] ?? [];
    const codes = media?.schema?.properties?.error?.properties?.code?.enum as string[] | undefined;
    const body = codes
      ? `${schemaLink('Error')} with code ${codes.map((code) => `<code>${escape(code)}</code>`).join(', ')}`
      : media
        ? `${typeOf(media.schema)} <span class="muted">${escape(mediaType)}</span>`
        : '<span class="muted">no body</span>';
    const headers = Object.keys(response.headers ?? {}).filter((name) => name !== 'x-request-id');
    return `<tr><td class="status s${escape(status[0])}">${escape(status)}</td><td>${codes ? '' : inline(response.description)}</td><td>${body}</td><td>${headers.map((name) => `<code>${escape(name)}</code>`).join(' ')}</td></tr>`;
  });
  return `<table><thead><tr><th>status</th><th>meaning</th><th>body</th><th>headers</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function operationSection(doc: OpenApiDocument, path: string, method: string, op: Json): string {
  const body = op.requestBody?.content?.['application/json']?.schema as Json | undefined;
  return `<section class="op" id="${operationAnchor(method, path, op)}">
<h3><span class="method ${escape(method)}">${escape(method.toUpperCase())}</span> <code>${escape(path)}</code> <span class="summary">${escape(op.summary ?? '')}</span></h3>
<p class="muted">${op.security?.length ? 'Needs <code>x-auth-user</code>.' : 'Public.'} Operation <code>${escape(op.operationId)}</code>.</p>
${prose(op.description)}
<h4>Parameters</h4>${parametersTable(doc, op.parameters ?? [])}
${body ? `<h4>Body${op.requestBody.required ? '' : ' <span class="muted">optional</span>'}</h4>${body.$ref ? `<p>${typeOf(body)}</p>` : fieldsTable(body)}` : ''}
<h4>Responses</h4>${responsesTable(op.responses)}
</section>`;
}

const STYLE = `body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
main{max-width:1040px;margin:0 auto;padding:24px}nav{background:#1d2330;color:#fff;padding:12px 24px}nav a{color:#cfe3ff;margin-right:14px}
h1{margin:0 0 8px}h2{border-bottom:2px solid #e3e7ee;padding-bottom:4px;margin-top:40px}h3{margin:0 0 4px;font-size:17px}h4{margin:14px 0 4px;font-size:14px;text-transform:uppercase;color:#556}
.op{background:#fff;border:1px solid #e3e7ee;border-radius:8px;padding:16px;margin:16px 0}
.method{display:inline-block;min-width:58px;text-align:center;border-radius:4px;color:#fff;font-size:13px;padding:1px 6px}
.get{background:#2f7d32}.post{background:#1f5fbf}.put{background:#b26a00}.delete{background:#b3261e}.patch{background:#6a3fb5}
.summary{font-weight:normal;color:#445}.muted{color:#778;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:14px;margin:4px 0}th,td{border-bottom:1px solid #eef0f4;text-align:left;padding:4px 8px;vertical-align:top}
th{color:#556;font-weight:600}code{background:#f1f3f7;border-radius:3px;padding:0 3px;font-size:13px}
.status{font-weight:600}.s2{color:#2f7d32}.s4{color:#b26a00}.s5{color:#b3261e}ul.toc{columns:2}`;

/** An operation's anchor: its operationId (unique in a document), else its method and path. */
const operationAnchor = (method: string, path: string, op: Json): string => `op-${slug(op.operationId ?? `${method}-${path}`)}`;
/** An HTML id from any text: no whitespace or quotes, only letters, digits, `-`, `_` and `.`. */
const slug = (text: string): string => text.replace(/[^A-Za-z0-9_.-]+/g, '-');

interface Operation {
  path: string;
  method: string;
  op: Json;
}

/**
 * The page's sections: one per tag, every operation in the section of its first tag. The document's tags
 * come first, in its order, then any tag an operation names that the document does not list, then the
 * operations with no tag; so every operation has its section whatever the tag list says.
 */
function tagGroups(doc: OpenApiDocument, operations: Operation[]): { name: string; description?: string; operations: Operation[] }[] {
  const described = new Map(doc.tags.map((tag) => [tag.name, tag.description]));
  const names = [...described.keys()];
  for (const { op } of operations) if (op.tags?.[0] && !names.includes(op.tags[0])) names.push(op.tags[0]);
  const groups = names.map((name) => ({
    name,
    description: described.get(name),
    operations: operations.filter(({ op }) => op.tags?.[0] === name),
  }));
  const untagged = operations.filter(({ op }) => !op.tags?.[0]);
  if (untagged.length > 0) groups.push({ name: 'Other', description: undefined, operations: untagged });
  return groups.filter((group) => group.operations.length > 0);
}

/** The whole page. */
export function renderDocsPage(doc: OpenApiDocument): string {
  const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op: op as Json })),
  );
  const groups = tagGroups(doc, operations);
  const sections = groups
    .map(
      (group) =>
        `<h2 id="tag-${slug(group.name)}">${escape(group.name)}</h2>${group.description ? `<p>${escape(group.description)}</p>` : ''}${group.operations.map(({ path, method, op }) => operationSection(doc, path, method, op)).join('\n')}`,
    )
    .join('\n');
  const toc = groups
    .flatMap((group) => group.operations)
    .map(
      ({ path, method, op }) =>
        `<li><a href="#${operationAnchor(method, path, op)}"><span class="method ${escape(method)}">${escape(method.toUpperCase())}</span> <code>${escape(path)}</code></a></li>`,
    )
    .join('');
  const schemas = Object.entries<Json>(doc.components.schemas)
    .map(
      ([name, schema]) =>
        `<section class="op" id="schema-${escape(name)}"><h3><code>${escape(name)}</code></h3>${schema.description ? `<p>${inline(schema.description)}</p>` : ''}${schema.properties ? fieldsTable(schema) : `<p>${typeOf(schema)}</p>`}</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(doc.info.title)}: API</title><style>${STYLE}</style></head>
<body><nav><strong>${escape(doc.info.title)}</strong> &nbsp; ${groups.map((group) => `<a href="#tag-${slug(group.name)}">${escape(group.name)}</a>`).join('')}<a href="#schemas">Schemas</a><a href="openapi.json">openapi.json</a></nav>
<main><h1>${escape(doc.info.title)} <span class="muted">API ${escape(doc.info.version)}, OpenAPI ${escape(doc.openapi)}</span></h1>
${prose(doc.info.description)}
<ul class="toc">${toc}</ul>
${sections}
<h2 id="schemas">Schemas</h2>
${schemas}
</main></body></html>
`;
}
