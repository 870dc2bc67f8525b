/**
 * Writes the endpoint tables of docs/api.md from the OpenAPI documents (`@authstack/contract/openapi`), between
 * `<!-- openapi:auth -->` / `<!-- openapi:resource -->` and `<!-- /openapi -->`. The prose around them is kept.
 *   node scripts/api-docs.ts           rewrite docs/api.md
 *   node scripts/api-docs.ts --check   exit 1 when docs/api.md is not what the documents say (a test runs this)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { authDocument, COMMON_CODES, resourceDocument, TOKEN_CODES } from '@authstack/contract/openapi';

type Json = Record<string, unknown>;
const FILE = new URL('../docs/api.md', import.meta.url);
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function resolve(doc: Json, schema: unknown): Json {
  const ref = (schema as { $ref?: string } | undefined)?.$ref;
  if (!ref) return (schema ?? {}) as Json;
  const name = ref.split('/').at(-1)!;
  return ((doc.components as Json).schemas as Json)[name] as Json;
}

/** `{a, b?}` from an object schema's properties (`?` for optional ones). */
function fields(doc: Json, schema: unknown): string {
  const resolved = resolve(doc, schema);
  const properties = Object.keys((resolved.properties as Json | undefined) ?? {});
  if (properties.length === 0) return '';
  const required = new Set((resolved.required as string[] | undefined) ?? []);
  return `{${properties.map((p) => (required.has(p) ? p : `${p}?`)).join(', ')}}`;
}

function codesOf(schema: unknown): string[] {
  const all =
    (schema as { allOf?: { properties?: { code?: { enum?: string[] } } }[] } | undefined)?.allOf ?? [];
  return all.flatMap((part) => part.properties?.code?.enum ?? []);
}

/** Error statuses with their codes; the token codes, listed once under the table, as "token errors". */
function failures(responses: Json): string {
  return Object.entries(responses)
    .filter(([status]) => Number(status) >= 400)
    .map(([status, response]) => {
      const schema = ((response as Json).content as Json | undefined)?.['application/problem+json'] as
        | Json
        | undefined;
      let codes = codesOf(schema?.schema).filter((code) => !COMMON_CODES.has(code));
      if (schema && codes.length === 0) return undefined;
      const tokens = TOKEN_CODES.every((code) => codes.includes(code));
      if (tokens) codes = codes.filter((code) => !(TOKEN_CODES as readonly string[]).includes(code));
      const listed = codes.map((code) => `\`${code}\``);
      if (tokens) listed.unshift('token errors');
      return listed.length > 0
        ? `${status} ${listed.join(', ')}`
        : `${status} (${(response as Json).description})`;
    })
    .filter((text) => text !== undefined)
    .join('; ');
}

const SCHEMES: Record<string, string> = { bearer: 'Bearer', sessionCookie: 'cookie' };

/** `Bearer`, `Bearer or cookie`, `Bearer, admin`, ... from the operation's security requirements. */
function authOf(op: Json): string {
  const security = (op.security as Json[] | undefined) ?? [];
  const schemes = security.flatMap((requirement) =>
    Object.keys(requirement).map((name) => SCHEMES[name] ?? name),
  );
  if (schemes.length === 0) return '—';
  const anonymous = security.some((requirement) => Object.keys(requirement).length === 0);
  return `${schemes.join(' or ')}${op['x-required-role'] ? `, ${op['x-required-role']}` : ''}${anonymous ? ' (or none)' : ''}`;
}

function table(doc: Json): string {
  const rows: string[][] = [['method, path', 'auth', 'request', 'success', 'failures (status: code)']];
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const method of METHODS) {
      const op = (item as Json)[method] as Json | undefined;
      if (!op) continue;
      const auth = authOf(op);
      const query = ((op.parameters as { in: string; name: string }[] | undefined) ?? [])
        .filter((p) => p.in === 'query')
        .map((p) => `${p.name}=`)
        .join('&');
      const body = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.[
        'application/json'
      ] as Json | undefined;
      const request = [query ? `?${query}` : '', body ? fields(doc, body.schema) : '']
        .filter(Boolean)
        .join(' ');
      const responses = op.responses as Json;
      const success = Object.entries(responses)
        .filter(([status]) => Number(status) < 400)
        .map(([status, ok]) => {
          const [type, media] = Object.entries(((ok as Json).content as Json) ?? {})[0] ?? ['', {}];
          const shape = type === 'application/json' ? fields(doc, (media as Json).schema) : type;
          const headers = Object.keys(((ok as Json).headers as Json | undefined) ?? {})
            .filter((name) => !name.startsWith('X-Session-') || name === 'X-Session-Authorization')
            .map((name) => ` + \`${name}\``)
            .join('');
          return `${status}${shape ? ` \`${shape}\`` : ''}${headers}`;
        })
        .join('; ');
      rows.push([
        `\`${method.toUpperCase()} ${path}\``,
        auth,
        request ? `\`${request}\`` : '',
        success,
        failures(responses),
      ]);
    }
  }
  // Padded as the formatter (biome) pads markdown tables, so the file stays as generated.
  const widths = rows[0]!.map((_, i) => Math.max(3, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)].join('\n');
}

export function render(current: string): string {
  const block = (name: string, doc: Json) => (text: string) =>
    text.replace(
      new RegExp(`(<!-- openapi:${name} -->\\n)[\\s\\S]*?(<!-- /openapi -->)`),
      (_m, open: string, close: string) =>
        `${open}<!-- generated by scripts/api-docs.ts from /${name === 'auth' ? 'auth' : 'api'}/openapi.json: do not edit -->\n\n${table(doc)}\n\n${close}`,
    );
  return [
    block('auth', authDocument() as unknown as Json),
    block('resource', resourceDocument() as unknown as Json),
  ].reduce((text, apply) => apply(text), current);
}

if (import.meta.main) {
  const current = readFileSync(FILE, 'utf8');
  const next = render(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('docs/api.md is not current: run node scripts/api-docs.ts');
      process.exit(1);
    }
  } else {
    writeFileSync(FILE, next);
  }
}
