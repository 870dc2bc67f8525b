/**
 * CI LOOK-ALIKE of the official jaegertracing/jaeger image (Jaeger v2, all-in-one with in-memory storage), built
 * only where the pinned upstream tag cannot be pulled (scripts/ci-images.sh). A dependency-free Node server, run by
 * Node's own type stripping. What it copies:
 *   - the OTLP/HTTP receiver on :4318, POST /v1/traces, JSON encoding (gzip accepted);
 *   - the subset of the query API the container stage reads on :16686: GET /api/services,
 *     /api/services/{service}/operations, /api/traces?service=&operation=&limit= and /api/traces/{traceID}, in
 *     Jaeger's JSON shape (data[].traceID, spans[].spanID/operationName/references/startTime/duration/tags/logs/
 *     processID, processes{}.serviceName/tags; span kind, status and scope as the span.kind, otel.status_code,
 *     error and otel.scope.name tags, as Jaeger translates OTLP);
 *   - the health check on :13133, GET /status;
 *   - JAEGER_LISTEN_HOST (default localhost, as upstream) for the address of all three.
 * Differences: no UI (GET / on :16686 says so), no OTLP/gRPC (:4317), no OTLP protobuf (answered 415 with a message:
 * set OTEL_EXPORTER_OTLP_PROTOCOL=http/json), no Zipkin, no sampling endpoint, no search by tags, duration or time
 * window; at most JAEGER_MAX_SPANS spans (default 100000) are kept in memory, the oldest traces dropped first.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** An OTLP attribute value (JSON encoding): exactly one field is set. */
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number | string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: KeyValue[];
  events?: { timeUnixNano?: string | number; name?: string; attributes?: KeyValue[] }[];
  links?: { traceId?: string; spanId?: string }[];
  status?: { code?: number | string; message?: string };
}
interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { scope?: { name?: string; version?: string }; spans?: OtlpSpan[] }[];
  }[];
}

/** A tag as Jaeger's JSON gives it. */
export interface JaegerTag {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64' | 'binary';
  value: string | number | boolean;
}
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  flags: number;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: JaegerTag[];
  logs: { timestamp: number; fields: JaegerTag[] }[];
  processID: string;
  warnings: null;
}
export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerTag[] }>;
  warnings: null;
}

interface StoredSpan {
  span: Omit<JaegerSpan, 'processID'>;
  service: string;
  /** The resource's attributes except service.name: the process tags. */
  processTags: JaegerTag[];
}

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS = ['UNSET', 'OK', 'ERROR'];

/** OTLP/JSON carries ids as hex; a producer that used protobuf's JSON mapping sends base64. Lowercase hex either way. */
function id(value: string | undefined, bytes: number): string | undefined {
  if (!value) return undefined;
  if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value)) return value.toLowerCase();
  const decoded = Buffer.from(value, 'base64');
  return decoded.length === bytes ? decoded.toString('hex') : undefined;
}
const nanos = (value: string | number | undefined) => {
  try {
    return BigInt(value ?? 0);
  } catch {
    return 0n;
  }
};
const micros = (ns: bigint) => Number(ns / 1000n);

function plain(value: AnyValue | undefined): unknown {
  if (!value) return null;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  if (value.kvlistValue)
    return Object.fromEntries((value.kvlistValue.values ?? []).map((kv) => [kv.key, plain(kv.value)]));
  return (
    value.stringValue ?? value.boolValue ?? value.intValue ?? value.doubleValue ?? value.bytesValue ?? null
  );
}
function tag(key: string, value: AnyValue | undefined): JaegerTag {
  if (value?.stringValue !== undefined) return { key, type: 'string', value: value.stringValue };
  if (value?.boolValue !== undefined) return { key, type: 'bool', value: value.boolValue };
  if (value?.intValue !== undefined) return { key, type: 'int64', value: Number(value.intValue) };
  if (value?.doubleValue !== undefined) return { key, type: 'float64', value: value.doubleValue };
  if (value?.bytesValue !== undefined) return { key, type: 'binary', value: value.bytesValue };
  return { key, type: 'string', value: JSON.stringify(plain(value)) };
}
const tags = (attributes: KeyValue[] | undefined) => (attributes ?? []).map((a) => tag(a.key, a.value));
const str = (key: string, value: string): JaegerTag => ({ key, type: 'string', value });

/** The spans of one export request in Jaeger's model; spans without valid ids are counted as rejected. */
function translate(request: ExportRequest): { spans: StoredSpan[]; rejected: number } {
  const spans: StoredSpan[] = [];
  let rejected = 0;
  for (const resourceSpans of request.resourceSpans ?? []) {
    const attributes = resourceSpans.resource?.attributes ?? [];
    const service = attributes.find((a) => a.key === 'service.name')?.value?.stringValue || 'unknown_service';
    const processTags = tags(attributes.filter((a) => a.key !== 'service.name'));
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const otlp of scopeSpans.spans ?? []) {
        const traceID = id(otlp.traceId, 16);
        const spanID = id(otlp.spanId, 8);
        if (!traceID || !spanID) {
          rejected++;
          continue;
        }
        const parent = id(otlp.parentSpanId, 8);
        const start = nanos(otlp.startTimeUnixNano);
        const end = nanos(otlp.endTimeUnixNano);
        const kind =
          typeof otlp.kind === 'number'
            ? KINDS[otlp.kind]
            : String(otlp.kind ?? '')
                .replace(/^SPAN_KIND_/, '')
                .toLowerCase();
        const status =
          typeof otlp.status?.code === 'number'
            ? STATUS[otlp.status.code]
            : String(otlp.status?.code ?? '').replace(/^STATUS_CODE_/, '');
        const extra: JaegerTag[] = [];
        if (scopeSpans.scope?.name) extra.push(str('otel.scope.name', scopeSpans.scope.name));
        if (scopeSpans.scope?.version) extra.push(str('otel.scope.version', scopeSpans.scope.version));
        if (kind && kind !== 'unspecified' && kind !== 'internal') extra.push(str('span.kind', kind));
        if (status === 'OK' || status === 'ERROR') extra.push(str('otel.status_code', status));
        if (status === 'ERROR') extra.push({ key: 'error', type: 'bool', value: true });
        if (otlp.status?.message) extra.push(str('otel.status_description', otlp.status.message));
        const references: JaegerSpan['references'] = parent
          ? [{ refType: 'CHILD_OF', traceID, spanID: parent }]
          : [];
        for (const link of otlp.links ?? []) {
          const linkTrace = id(link.traceId, 16);
          const linkSpan = id(link.spanId, 8);
          if (linkTrace && linkSpan)
            references.push({ refType: 'FOLLOWS_FROM', traceID: linkTrace, spanID: linkSpan });
        }
        spans.push({
          service,
          processTags,
          span: {
            traceID,
            spanID,
            flags: 1,
            operationName: otlp.name ?? '',
            references,
            startTime: micros(start),
            duration: end > start ? micros(end - start) : 0,
            tags: [...tags(otlp.attributes), ...extra],
            logs: (otlp.events ?? []).map((event) => ({
              timestamp: micros(nanos(event.timeUnixNano)),
              fields: [str('event', event.name ?? ''), ...tags(event.attributes)],
            })),
            warnings: null,
          },
        });
      }
    }
  }
  return { spans, rejected };
}

/** In-memory storage: traces in the order they were first seen, the oldest dropped beyond `maxSpans`. */
export class SpanStore {
  readonly #traces = new Map<string, StoredSpan[]>();
  #count = 0;
  readonly maxSpans: number;
  constructor(maxSpans: number) {
    this.maxSpans = maxSpans;
  }

  get spanCount(): number {
    return this.#count;
  }

  add(spans: StoredSpan[]): void {
    for (const stored of spans) {
      const trace = this.#traces.get(stored.span.traceID);
      if (trace) trace.push(stored);
      else this.#traces.set(stored.span.traceID, [stored]);
      this.#count++;
    }
    for (const [traceID, trace] of this.#traces) {
      if (this.#count <= this.maxSpans) break;
      this.#traces.delete(traceID);
      this.#count -= trace.length;
    }
  }

  services(): string[] {
    const names = new Set<string>();
    for (const trace of this.#traces.values()) for (const stored of trace) names.add(stored.service);
    return [...names].sort();
  }

  operations(service: string): string[] {
    const names = new Set<string>();
    for (const trace of this.#traces.values())
      for (const stored of trace) if (stored.service === service) names.add(stored.span.operationName);
    return [...names].sort();
  }

  trace(traceID: string): JaegerTrace | undefined {
    const key = traceID.toLowerCase().padStart(32, '0');
    const trace = this.#traces.get(key);
    return trace && toJaeger(key, trace);
  }

  /** The traces with a span of `service` (and `operation`), the most recently started first. */
  find(service: string, operation: string | undefined, limit: number): JaegerTrace[] {
    const matching: { traceID: string; trace: StoredSpan[]; latest: number }[] = [];
    for (const [traceID, trace] of this.#traces) {
      const hits = trace.filter(
        (s) => s.service === service && (operation === undefined || s.span.operationName === operation),
      );
      if (hits.length > 0)
        matching.push({ traceID, trace, latest: Math.max(...trace.map((s) => s.span.startTime)) });
    }
    return matching
      .sort((a, b) => b.latest - a.latest)
      .slice(0, limit)
      .map(({ traceID, trace }) => toJaeger(traceID, trace));
  }
}

function toJaeger(traceID: string, trace: StoredSpan[]): JaegerTrace {
  const processes: JaegerTrace['processes'] = {};
  const byKey = new Map<string, string>();
  const spans = trace.map((stored) => {
    const key = JSON.stringify([stored.service, stored.processTags]);
    let processID = byKey.get(key);
    if (!processID) {
      processID = `p${byKey.size + 1}`;
      byKey.set(key, processID);
      processes[processID] = { serviceName: stored.service, tags: stored.processTags };
    }
    return { ...stored.span, processID };
  });
  return { traceID: traceID.toLowerCase(), spans, processes, warnings: null };
}

const MAX_BODY = 16 * 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}
/** Jaeger's query API envelope. */
const envelope = (data: unknown, status = 200, message?: string) => ({
  data,
  total: Array.isArray(data) ? data.length : 0,
  limit: 0,
  offset: 0,
  errors: message ? [{ code: status, msg: message }] : null,
});

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

type Log = (line: string) => void;

/**
 * An export refused: answered with OTLP's status shape and logged (status, message, content type; never the body),
 * so a stage that finds no trace reads why in this container's log.
 */
function refuse(
  log: Log,
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
): void {
  const contentType = req.headers['content-type'] ?? '';
  log(JSON.stringify({ msg: 'OTLP export refused', status, reason: message, contentType }));
  send(res, status, { code, message });
}

function otlpHandler(store: SpanStore, log: Log) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/v1/traces') return refuse(log, req, res, 404, 5, `no OTLP endpoint at ${path}`);
    if (req.method !== 'POST') return refuse(log, req, res, 405, 12, 'POST OTLP/HTTP to /v1/traces');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      req.resume();
      return refuse(
        log,
        req,
        res,
        415,
        3,
        `unsupported content type '${type}': this CI look-alike of Jaeger receives OTLP/HTTP JSON only ` +
          '(application/json); set OTEL_EXPORTER_OTLP_PROTOCOL=http/json',
      );
    }
    let body = await readBody(req);
    if (!body) return refuse(log, req, res, 413, 8, `request body over ${MAX_BODY} bytes`);
    let request: ExportRequest;
    try {
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      request = JSON.parse(body.toString('utf8')) as ExportRequest;
    } catch {
      return refuse(log, req, res, 400, 3, 'the body is not OTLP JSON');
    }
    const { spans, rejected } = translate(request);
    store.add(spans);
    send(
      res,
      200,
      rejected > 0
        ? { partialSuccess: { rejectedSpans: String(rejected), errorMessage: 'a span without valid ids' } }
        : { partialSuccess: {} },
    );
  };
}

function queryHandler(store: SpanStore) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://jaeger');
    if (req.method !== 'GET') return send(res, 405, envelope(null, 405, 'GET only'));
    if (url.pathname === '/')
      return send(
        res,
        200,
        'CI look-alike of Jaeger: no UI. Query API: /api/services, /api/services/{service}/operations, ' +
          '/api/traces?service=&operation=&limit=, /api/traces/{traceID}\n',
      );
    if (url.pathname === '/api/services') return send(res, 200, envelope(store.services()));
    const operations = /^\/api\/services\/([^/]+)\/operations$/.exec(url.pathname);
    if (operations) return send(res, 200, envelope(store.operations(decodeURIComponent(operations[1]!))));
    if (url.pathname === '/api/traces') {
      const service = url.searchParams.get('service');
      if (!service) return send(res, 400, envelope(null, 400, "parameter 'service' is required"));
      const limit = Number(url.searchParams.get('limit') || 100);
      if (!Number.isInteger(limit) || limit < 0)
        return send(res, 400, envelope(null, 400, "parameter 'limit' must be a non-negative integer"));
      const operation = url.searchParams.get('operation') || undefined;
      return send(res, 200, envelope(store.find(service, operation, limit || 100)));
    }
    const one = /^\/api\/traces\/([0-9a-fA-F]{1,32})$/.exec(url.pathname);
    if (one) {
      const trace = store.trace(one[1]!);
      return trace
        ? send(res, 200, envelope([trace]))
        : send(res, 404, envelope(null, 404, 'trace not found'));
    }
    send(res, 404, envelope(null, 404, `no such endpoint: ${url.pathname}`));
  };
}

export interface JaegerOptions {
  host?: string;
  otlpPort?: number;
  queryPort?: number;
  healthPort?: number;
  maxSpans?: number;
  /** Where refused exports are reported (default stderr). */
  log?: Log;
}
export interface RunningJaeger {
  store: SpanStore;
  ports: { otlp: number; query: number; health: number };
  close(): Promise<void>;
}

/** Starts the three listeners (port 0: any free port; `ports` says which). */
export async function startJaeger(options: JaegerOptions = {}): Promise<RunningJaeger> {
  const host = options.host ?? 'localhost';
  const store = new SpanStore(options.maxSpans ?? 100_000);
  const started = new Date().toISOString();
  const servers: Server[] = [
    createServer((req, res) => {
      otlpHandler(store, options.log ?? ((line) => console.error(line)))(req, res).catch(() =>
        send(res, 500, { code: 13, message: 'internal error' }),
      );
    }),
    createServer(queryHandler(store)),
    createServer((req, res) =>
      (req.url ?? '').split('?')[0] === '/status'
        ? send(res, 200, { status: 'StatusOK', healthy: true, start_time: started })
        : send(res, 404, { status: 'not found' }),
    ),
  ];
  const wanted = [options.otlpPort ?? 4318, options.queryPort ?? 16686, options.healthPort ?? 13133];
  await Promise.all(
    servers.map(
      (server, i) =>
        new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(wanted[i], host, () => resolve());
        }),
    ),
  );
  const port = (i: number) => (servers[i]!.address() as AddressInfo).port;
  return {
    store,
    ports: { otlp: port(0), query: port(1), health: port(2) },
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}

if (import.meta.main) {
  const host = process.env.JAEGER_LISTEN_HOST || 'localhost';
  const maxSpans = Number(process.env.JAEGER_MAX_SPANS || 100_000);
  const jaeger = await startJaeger({ host, maxSpans });
  console.log(
    JSON.stringify({
      msg: 'CI look-alike of Jaeger started (OTLP/HTTP JSON only, in-memory, no UI)',
      host,
      ports: jaeger.ports,
      maxSpans,
    }),
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => {
      jaeger.close().then(() => process.exit(0));
      setTimeout(() => process.exit(0), 2000).unref();
    });
}
