/**
 * Holding a service to its OpenAPI document: every real response is checked against the documented operation,
 * status, media type and schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses), and what the code can do (routes
 * in the express app, problem codes in the error catalogues) is compared with what the document says.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Express } from 'express';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

interface MediaType {
  schema?: unknown;
}
interface ResponseObject {
  content?: Record<string, MediaType>;
  headers?: Record<string, { required?: boolean }>;
}
interface OperationObject {
  responses: Record<string, ResponseObject>;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OperationObject>>;
  components?: Record<string, unknown>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const pointer = (...parts: string[]) =>
  parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** `{code}`s a response schema allows, read from the document (`allOf: [Problem, {code: {enum}}]`). */
function codesOf(schema: unknown): string[] {
  const all =
    (schema as { allOf?: { properties?: { code?: { enum?: string[] } } }[] } | undefined)?.allOf ?? [];
  return all.flatMap((part) => part.properties?.code?.enum ?? []);
}

/** Every (method, path template, status, code) the document promises. */
export function documented(doc: OpenApiDocument) {
  const operations = new Set<string>();
  const codes = new Map<string, Set<number>>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      operations.add(`${method.toUpperCase()} ${path}`);
      for (const [status, response] of Object.entries(op.responses)) {
        for (const code of codesOf(response.content?.['application/problem+json']?.schema)) {
          if (!codes.has(code)) codes.set(code, new Set());
          codes.get(code)!.add(Number(status));
        }
      }
    }
  }
  return { operations, codes };
}

export interface Observed {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * `check(response)` throws when the response is not what the document says for its operation and status;
 * `seen` collects `METHOD /template status [code]` for coverage.
 */
export function contractChecker(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema(doc as object, 'openapi.json');
  const templates = Object.keys(doc.paths)
    .map((template) => ({
      template,
      params: (template.match(/\{/g) ?? []).length,
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+').replaceAll('.', '\\.')}$`),
    }))
    .sort((a, b) => a.params - b.params);
  const seen = new Set<string>();

  function check(response: Observed): void {
    const path = response.path.split('?')[0]!;
    const method = response.method.toLowerCase();
    const where = `${response.method} ${path} -> ${response.status}`;
    const match = templates.find((t) => t.pattern.test(path) && doc.paths[t.template]?.[method]);
    if (!match) throw new Error(`${where}: no such operation in the document`);
    const op = doc.paths[match.template]![method]!;
    const documentedResponse = op.responses[String(response.status)];
    if (!documentedResponse) throw new Error(`${where}: status not documented for ${match.template}`);
    for (const [name, header] of Object.entries(documentedResponse.headers ?? {})) {
      if (header.required && !response.headers.has(name)) throw new Error(`${where}: no ${name} header`);
    }
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    if (!documentedResponse.content) {
      // Documented without a body (a 204, the gateway exchange's 200): none may come.
      const empty =
        response.body === '' ||
        (typeof response.body === 'object' &&
          response.body !== null &&
          Object.keys(response.body).length === 0);
      if (contentType !== '' || !empty)
        throw new Error(`${where}: a body (${contentType}) where none is documented`);
      seen.add(`${response.method} ${match.template} ${response.status}`);
      return;
    }
    const media = documentedResponse.content?.[contentType];
    if (!media) {
      throw new Error(
        `${where}: content type ${contentType} not documented (${Object.keys(documentedResponse.content ?? {})})`,
      );
    }
    const validate = ajv.getSchema(
      `openapi.json#/${pointer('paths', match.template, method, 'responses', String(response.status), 'content', contentType, 'schema')}`,
    );
    if (!validate) throw new Error(`${where}: schema not found`);
    const bodies =
      contentType === 'application/x-ndjson' && typeof response.body === 'string'
        ? response.body
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => JSON.parse(line) as unknown)
        : [response.body];
    for (const body of bodies) {
      if (!validate(body)) {
        throw new Error(
          `${where}: body does not match the document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 400)}`,
        );
      }
    }
    const code = (response.body as { code?: unknown } | undefined)?.code;
    seen.add(
      `${response.method} ${match.template} ${response.status}${typeof code === 'string' && contentType === 'application/problem+json' ? ` ${code}` : ''}`,
    );
  }

  return { check, seen };
}

/** `METHOD /path/{param}` of every route in an express 5 app, mounted routers included. */
export function expressRoutes(app: Express): Set<string> {
  const out = new Set<string>();
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
    rawPath?: unknown;
  }
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = `${prefix}${layer.route.path}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== '_all') out.add(`${method.toUpperCase()} ${path}`);
        }
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, `${prefix}${mount}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out;
}

/**
 * (status, code) pairs found in source files: `status: 400, code: 'x'` (either order, across lines), and the
 * members of a `... ErrorCode =` or `... Reason =` union of string literals with the status given for that file.
 */
export function problemCodesIn(files: { path: string; unionStatus?: number }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const file of files) {
    const text = readFileSync(file.path, 'utf8');
    for (const m of text.matchAll(/status:\s*(\d{3}),\s*code:\s*'([a-z_]+)'/g)) out.set(m[2]!, Number(m[1]));
    for (const m of text.matchAll(/code\s*=\s*'([a-z_]+)';\s*readonly status\s*=\s*(\d{3})/g)) {
      out.set(m[1]!, Number(m[2]));
    }
    if (file.unionStatus !== undefined) {
      const union = /export type \w+(?:Code|Reason) =([^;]+);/.exec(text);
      for (const m of union?.[1]?.matchAll(/'([a-z_]+)'/g) ?? []) out.set(m[1]!, file.unionStatus);
    }
  }
  return out;
}
