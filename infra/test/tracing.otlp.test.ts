import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { migratedDatabase, STRONG_PASSWORD, testEnv, username } from '@authstack/auth/testing';
import { eventually, http, suiteScope } from '@authstack/testing';
import { startTestGateway, testCerts } from '../../e2e/support.ts';
import { freePort, type Gateway } from '../nginx/local-gateway.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Attribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean };
}
interface Span {
  service: string;
  /** The resource's attributes (service.name, OTEL_RESOURCE_ATTRIBUTES, the detectors'). */
  resource: Record<string, string | number | boolean | undefined>;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  /** Unix time in ms (from startTimeUnixNano). */
  start: number;
  attributes: Record<string, string | number | boolean | undefined>;
}
const SERVER = 2;
const CLIENT = 3;
/** The database a client span talks to (newer semantic conventions first). */
const dbSystem = (span: Span) => span.attributes['db.system.name'] ?? span.attributes['db.system'];
const attributeValue = (a: Attribute) =>
  a.value.stringValue ?? (a.value.intValue === undefined ? a.value.boolValue : Number(a.value.intValue));
const attributes = (list: Attribute[] | undefined) =>
  Object.fromEntries((list ?? []).map((a) => [a.key, attributeValue(a)]));

/** An OTLP/HTTP (JSON) receiver: what a collector or Jaeger would get. */
function otlpReceiver() {
  const spans: Span[] = [];
  /** Every OTLP body as it came: names, attributes of every kind, events. */
  const bodies: string[] = [];
  const contentTypes = new Set<string>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        contentTypes.add(String(req.headers['content-type']));
        bodies.push(body);
        const payload = JSON.parse(body) as {
          resourceSpans: {
            resource: { attributes: Attribute[] };
            scopeSpans: {
              spans: {
                traceId: string;
                spanId: string;
                parentSpanId?: string;
                name: string;
                kind: number;
                startTimeUnixNano: string;
                attributes?: Attribute[];
              }[];
            }[];
          }[];
        };
        for (const resourceSpans of payload.resourceSpans) {
          const resource = attributes(resourceSpans.resource.attributes);
          for (const scope of resourceSpans.scopeSpans)
            for (const span of scope.spans)
              spans.push({
                service: String(resource['service.name'] ?? ''),
                resource,
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId ?? '',
                name: span.name,
                kind: span.kind,
                start: Number(BigInt(span.startTimeUnixNano) / 1_000_000n),
                attributes: attributes(span.attributes),
              });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return { spans, bodies, contentTypes, server };
}

/** A query string as a client might send one, with a secret in it: no exported span may hold any of it. */
const QUERY = 'access_token=SECRETVALUE&username=x';
/** No attribute of any span received (nor anything else in the OTLP bodies) holds the query's secret. */
function assertNoQueryExported(receiver: { spans: Span[]; bodies: string[] }) {
  assert.ok(receiver.spans.length > 0);
  for (const span of receiver.spans) {
    assert.ok(!span.name.includes('SECRETVALUE'), `${span.service}: span name ${span.name}`);
    for (const [key, value] of Object.entries(span.attributes))
      assert.ok(!String(value).includes('SECRETVALUE'), `${span.service} ${span.name}: ${key}=${value}`);
  }
  for (const body of receiver.bodies)
    assert.ok(!body.includes('SECRETVALUE'), 'an OTLP body holds the secret');
}

/** Whether `span` lies under `ancestor` in `trace` (following parentSpanId). */
function descendsFrom(span: Span, ancestor: Span, trace: Span[]): boolean {
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  for (let parent = byId.get(span.parentSpanId); parent; parent = byId.get(parent.parentSpanId))
    if (parent.spanId === ancestor.spanId) return true;
  return false;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** A trace as an indented outline, `service: span name`, children under their parent in start order. */
function outline(trace: Span[]): string[] {
  const ids = new Set(trace.map((s) => s.spanId));
  const children = (parent: string | undefined) =>
    trace
      .filter((s) => (parent === undefined ? !ids.has(s.parentSpanId) : s.parentSpanId === parent))
      .sort((a, b) => a.start - b.start);
  const walk = (span: Span, depth: number): string[] => [
    `#   ${'  '.repeat(depth)}${span.service}: ${span.name}`,
    ...children(span.spanId).flatMap((child) => walk(child, depth + 1)),
  ];
  return children(undefined).flatMap((root) => walk(root, 0));
}

/** A service as its container runs it: `node --import @authstack/telemetry/tracing services/<name>/src/server.ts`. */
async function startService(name: string, env: Record<string, string | undefined>) {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', '@authstack/telemetry/tracing', `services/${name}/src/server.ts`],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${stderr}`);
    return (await fetch(`${url}/readyz`)).ok;
  }, 20_000);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The receiver, listening; closed when `scope` ends. Its URL is what OTEL_EXPORTER_OTLP_ENDPOINT names. */
async function listeningReceiver(scope: ReturnType<typeof suiteScope>) {
  const receiver = otlpReceiver();
  await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  scope.defer(() => new Promise((resolve) => receiver.server.close(resolve)));
  return { ...receiver, endpoint: `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}` };
}

describe('OpenTelemetry tracing, on when OTEL_EXPORTER_OTLP_ENDPOINT is set', () => {
  const scope = suiteScope();
  /** Set through OTEL_RESOURCE_ATTRIBUTES, read by the SDK, nowhere in the project's code. */
  const environmentName = `tracing-test-${hex(4)}`;
  let receiver: Awaited<ReturnType<typeof listeningReceiver>>;
  let auth: Awaited<ReturnType<typeof startService>>;
  let resource: Awaited<ReturnType<typeof startService>>;
  let gateway: Gateway;
  let ca: Buffer;
  let token = '';

  before(async () => {
    receiver = await listeningReceiver(scope);
    const tracing = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_RESOURCE_ATTRIBUTES: `deployment.environment.name=${environmentName}`,
    };
    const db = await migratedDatabase(scope);
    const authEnv = testEnv(db, { LOG_LEVEL: 'silent', OTEL_SERVICE_NAME: 'auth', ...tracing });
    auth = await startService('auth', authEnv);
    scope.defer(() => auth.stop());
    resource = await startService('resource', {
      LOG_LEVEL: 'silent',
      JWT_ISSUER: 'https://localhost:8443', // auth's default issuer
      JWKS_URI: `${auth.url}/.well-known/jwks.json`,
      OTEL_SERVICE_NAME: 'resource',
      ...tracing,
    });
    scope.defer(() => resource.stop());
    const certs = testCerts(scope);
    ca = readFileSync(certs.ca);
    gateway = await startTestGateway(scope, {
      authUpstream: new URL(auth.url).host,
      resourceUpstream: new URL(resource.url).host,
      certs,
    });
  });

  /** A call through the gateway, marked by its user agent; its status and the access log's request id for it. */
  async function throughGateway(method: string, path: string, body?: unknown, bearer?: string) {
    const agent = `tracing-test-${hex(6)}`;
    const headers: Record<string, string> = { 'user-agent': agent, 'content-type': 'application/json' };
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const answer = await new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = request(`${gateway.httpsUrl}${path}`, { method, headers, ca }, (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
    const line = await eventually(
      () =>
        (existsSync(gateway.accessLog) &&
          readFileSync(gateway.accessLog, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((text) => JSON.parse(text) as { request_id: string; user_agent: string })
            .find((entry) => entry.user_agent === agent)) ??
        false,
    );
    return { ...answer, requestId: line.request_id };
  }

  const serverSpan = (service: string, path: string) =>
    receiver.spans.find(
      (s) =>
        s.service === service &&
        s.kind === SERVER &&
        (s.attributes['url.path'] ?? s.attributes['http.target']) === path,
    );
  const traceOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);

  it('when a user logs in, then auth exports the trace: http, express, pg, ioredis and bcrypt spans', async () => {
    const name = username('otel');
    assert.equal(
      (await http(`${auth.url}/auth/register`, { body: { username: name, password: STRONG_PASSWORD } }))
        .status,
      201,
    );
    const login = await http<{ access_token: string }>(`${auth.url}/auth/login`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(login.status, 200);
    token = login.body.access_token;

    const complete = (trace: Span[]) =>
      trace.some((s) => s.name === 'bcrypt.compare') &&
      trace.some((s) => String(dbSystem(s)).startsWith('postgres')) &&
      trace.some((s) => dbSystem(s) === 'redis') &&
      trace.some((s) => s.attributes['express.type'] !== undefined);
    await eventually(async () => {
      const root = serverSpan('auth', '/auth/login');
      return root !== undefined && complete(traceOf(root.traceId));
    });
    const trace = traceOf(serverSpan('auth', '/auth/login')!.traceId);
    assert.ok(trace.every((s) => s.service === 'auth'));
    assert.ok(
      trace.some((s) => s.name === 'bcrypt.compare'),
      'bcrypt',
    );
    assert.ok(
      trace.some((s) => String(dbSystem(s)).startsWith('postgres')),
      'pg',
    );
    assert.ok(
      trace.some((s) => dbSystem(s) === 'redis'),
      'ioredis',
    );
    assert.ok(
      trace.some((s) => s.attributes['express.type'] !== undefined),
      'express',
    );
    assert.ok(!JSON.stringify(trace).includes(STRONG_PASSWORD), 'no password in any span');
    const redisText = trace
      .filter((s) => dbSystem(s) === 'redis')
      .map((s) => String(s.attributes['db.query.text'] ?? s.attributes['db.statement']));
    assert.ok(redisText.length > 0);
    assert.deepEqual(
      redisText.filter((text) => !/^[a-z]+$/.test(text)),
      [],
      'a Redis span names its command, never its arguments (keys, values, a script and its ARGV)',
    );
  });

  it("when a user logs in, then auth's server span holds the bcrypt span and the Redis script's span as descendants", async () => {
    const root = serverSpan('auth', '/auth/login')!;
    const trace = traceOf(root.traceId);
    assert.equal(root.parentSpanId, '', 'the server span is the root: the client sent no traceparent');
    const bcrypt = trace.find((s) => s.name === 'bcrypt.compare');
    assert.ok(bcrypt && descendsFrom(bcrypt, root, trace), 'bcrypt.compare under the server span');
    const scripts = trace.filter(
      (s) =>
        dbSystem(s) === 'redis' && (s.attributes['db.operation.name'] ?? s.name).toString().includes('eval'),
    );
    assert.ok(
      scripts.length > 0,
      `a Redis script (EVAL) in the trace: ${trace.map((s) => s.name).join(', ')}`,
    );
    for (const script of scripts)
      assert.ok(descendsFrom(script, root, trace), `${script.name} under the server span`);
  });

  it('when a protected resource is called, then its trace is the resource alone: verification, never a call to auth', async () => {
    const before = Date.now();
    const res = await http(`${resource.url}/api/protected`, { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const after = Date.now();
    await eventually(async () => {
      const root = serverSpan('resource', '/api/protected');
      return root !== undefined && traceOf(root.traceId).some((s) => s.name === 'jwt.verify');
    });
    const trace = traceOf(serverSpan('resource', '/api/protected')!.traceId);
    const verify = trace.find((s) => s.name === 'jwt.verify')!;
    assert.equal(verify.attributes['jwt.result'], 'valid');
    assert.deepEqual([...new Set(trace.map((s) => s.service))], ['resource']);
    assert.deepEqual(
      trace.filter((s) => s.kind === CLIENT && s.attributes['db.system.name'] === undefined),
      [],
      'no outgoing HTTP call',
    );
    assert.ok(!JSON.stringify(trace).includes(token), 'no token in any span');
    // Auth's spans of that moment have left it (its batch delay is 50 ms): none is a request it served.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(
      receiver.spans
        .filter(
          (s) => s.service === 'auth' && s.kind === SERVER && s.start >= before - 1 && s.start <= after + 1,
        )
        .map((s) => s.name),
      [],
      'auth served no request while the resource verified the token',
    );
  });

  it('when a request carries a traceparent, then the service continues that trace under the given parent', async () => {
    const traceId = hex(16);
    const parentId = hex(8);
    const res = await http(`${resource.url}/api/protected`, {
      token,
      headers: { traceparent: `00-${traceId}-${parentId}-01` },
    });
    assert.equal(res.status, 200);
    const root = await eventually(
      () =>
        receiver.spans.find((s) => s.service === 'resource' && s.kind === SERVER && s.traceId === traceId) ??
        false,
    );
    assert.equal(root.parentSpanId, parentId);
    // The request's own spans hang under its server span (a repeated token skips jwt.verify: verified-token cache).
    await eventually(() => traceOf(traceId).some((s) => s.attributes['express.type'] !== undefined));
    const trace = traceOf(traceId);
    for (const span of trace.filter((s) => s !== root)) assert.ok(descendsFrom(span, root, trace), span.name);
  });
  it('when a request carries a query string, then no span holds it: a server span has the path alone, through the gateway too', async () => {
    const traceId = hex(16);
    await http(`${resource.url}/api/protected?${QUERY}`, {
      token,
      headers: { traceparent: `00-${traceId}-${hex(8)}-01` },
    });
    const viaGateway = await throughGateway('GET', `/api/protected?${QUERY}`, undefined, token);
    for (const id of [traceId, viaGateway.requestId]) {
      const root = await eventually(
        () =>
          receiver.spans.find((s) => s.service === 'resource' && s.kind === SERVER && s.traceId === id) ??
          false,
      );
      assert.equal(root.attributes['url.path'], '/api/protected');
      assert.equal(root.attributes['url.query'], undefined);
      await eventually(() => traceOf(id).some((s) => s.attributes['express.type'] !== undefined));
    }
    assertNoQueryExported(receiver);
  });

  it('when a traced process makes an outgoing request with a query string, then neither its client span nor the server span holds it', async () => {
    const probe = `import { createServer, get } from 'node:http';
      const server = createServer((req, res) => res.end('ok'));
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address();
      await new Promise((resolve, reject) =>
        get('http://127.0.0.1:' + port + '/probe/path?' + process.env.PROBE_QUERY, (res) => res.resume().on('end', resolve)).on('error', reject));
      server.close();
      console.log(port);`;
    const child = spawn(
      process.execPath,
      ['--import', '@authstack/telemetry/tracing', '--input-type=module', '-e', probe],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
          OTEL_SERVICE_NAME: 'query-probe',
          OTEL_BSP_SCHEDULE_DELAY: '50',
          // From the environment, not the script: the SDK's resource records the command line (process.command_args).
          PROBE_QUERY: QUERY,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, output);
    const port = output.trim();
    const probeSpans = await eventually(() => {
      const spans = receiver.spans.filter((s) => s.service === 'query-probe');
      return spans.some((s) => s.kind === CLIENT) && spans.some((s) => s.kind === SERVER) && spans;
    });
    const client = probeSpans.find((s) => s.kind === CLIENT)!;
    assert.equal(client.attributes['url.full'], `http://127.0.0.1:${port}/probe/path`);
    const server = probeSpans.find((s) => s.kind === SERVER)!;
    assert.equal(server.attributes['url.path'], '/probe/path');
    assert.equal(server.attributes['url.query'], undefined);
    assertNoQueryExported(receiver);
  });

  it("when a login and a protected call pass the gateway, then each service's trace id is the access log's request id, and the protected call's trace has no span of auth", async () => {
    const name = username('otelgw');
    assert.equal(
      (await throughGateway('POST', '/auth/register', { username: name, password: STRONG_PASSWORD })).status,
      201,
    );
    const login = await throughGateway('POST', '/auth/login', { username: name, password: STRONG_PASSWORD });
    assert.equal(login.status, 200);
    const call = await throughGateway('GET', '/api/protected', undefined, String(login.body.access_token));
    assert.equal(call.status, 200);

    // gateway -> auth: one trace, named by the gateway's request id, auth's server span under the parent nginx sent.
    const loginRoot = await eventually(
      () =>
        receiver.spans.find(
          (s) => s.traceId === login.requestId && s.kind === SERVER && s.service === 'auth',
        ) ?? false,
    );
    assert.equal(loginRoot.parentSpanId, login.requestId.slice(16));
    await eventually(() => traceOf(login.requestId).some((s) => s.name === 'bcrypt.compare'));
    // gateway -> resource: verified there; auth has no span in that trace.
    const callRoot = await eventually(
      () =>
        receiver.spans.find(
          (s) => s.traceId === call.requestId && s.kind === SERVER && s.service === 'resource',
        ) ?? false,
    );
    assert.equal(callRoot.parentSpanId, call.requestId.slice(16));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual([...new Set(traceOf(call.requestId).map((s) => s.service))], ['resource']);
    // What Jaeger shows for the two, as the test's diagnostic output.
    for (const [what, id] of [
      ['login', login.requestId],
      ['protected call', call.requestId],
    ] as const)
      console.log(
        `# ${what}, trace ${id} (the access log's request_id):\n${outline(traceOf(id)).join('\n')}`,
      );
  });

  it('when a service exports a span, then its resource carries the attributes OTEL_RESOURCE_ATTRIBUTES sets, and the OTLP body is JSON', () => {
    for (const service of ['auth', 'resource']) {
      const spans = receiver.spans.filter((s) => s.service === service);
      assert.ok(spans.length > 0, service);
      assert.deepEqual(
        [...new Set(spans.map((s) => s.resource['deployment.environment.name']))],
        [environmentName],
        service,
      );
    }
    assert.deepEqual([...receiver.contentTypes], ['application/json']);
  });
});

describe('OpenTelemetry tracing: the SDK reads the sampler and the off switch; shutdown sends what is buffered', () => {
  const scope = suiteScope();
  let receiver: Awaited<ReturnType<typeof listeningReceiver>>;
  let authUrl = '';

  before(async () => {
    receiver = await listeningReceiver(scope);
    // An auth without tracing: the resources below fetch its JWKS.
    const db = await migratedDatabase(scope);
    const auth = await startService('auth', testEnv(db, { LOG_LEVEL: 'silent' }));
    scope.defer(() => auth.stop());
    authUrl = auth.url;
  });

  /** A resource exporting to the receiver as `name`; one unauthenticated call, then SIGTERM: the spans it exported. */
  async function exportedOnStop(name: string, env: Record<string, string>) {
    const resource = await startService('resource', {
      LOG_LEVEL: 'silent',
      JWT_ISSUER: 'https://localhost:8443',
      JWKS_URI: `${authUrl}/.well-known/jwks.json`,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SERVICE_NAME: name,
      ...env,
    });
    scope.defer(() => resource.stop());
    assert.equal((await http(`${resource.url}/api/protected`)).status, 401);
    const held = receiver.spans.filter((s) => s.service === name).length;
    await resource.stop();
    return { held, exported: receiver.spans.filter((s) => s.service === name) };
  }

  it('when the batch delay is long, then SIGTERM still exports the spans of the last requests before the process ends', async () => {
    const { held, exported } = await exportedOnStop('resource-flushed', {
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    assert.equal(held, 0, 'nothing sent before the stop (the batch waits ten minutes)');
    assert.ok(
      exported.some((s) => s.kind === SERVER && s.attributes['url.path'] === '/api/protected'),
      `the request's server span is sent on SIGTERM: ${exported.map((s) => s.name).join(', ')}`,
    );
  });

  it('when OTEL_TRACES_SAMPLER=always_off, then no span is exported', async () => {
    const { exported } = await exportedOnStop('resource-sampled-off', {
      OTEL_BSP_SCHEDULE_DELAY: '600000',
      OTEL_TRACES_SAMPLER: 'always_off',
    });
    assert.deepEqual(
      exported.map((s) => s.name),
      [],
    );
  });

  it('when OTEL_SDK_DISABLED=true, then no span is exported', async () => {
    const { exported } = await exportedOnStop('resource-disabled', {
      OTEL_BSP_SCHEDULE_DELAY: '600000',
      OTEL_SDK_DISABLED: 'true',
    });
    assert.deepEqual(
      exported.map((s) => s.name),
      [],
    );
  });
});

describe('OpenTelemetry tracing: on only when asked, defaults only where unset', () => {
  /** What `node --import @authstack/telemetry/tracing` set up under `env`: the API globals registered, and the env. */
  function loadedWith(env: Record<string, string>) {
    const probe = `console.log(JSON.stringify({
      registered: Object.keys(globalThis[Symbol.for('opentelemetry.js.api.1')] ?? {}).filter((k) => k !== 'version'),
      metrics: process.env.OTEL_METRICS_EXPORTER ?? null,
      logs: process.env.OTEL_LOGS_EXPORTER ?? null,
      protocol: process.env.OTEL_EXPORTER_OTLP_PROTOCOL ?? null,
    }))`;
    const run = spawnSync(
      process.execPath,
      ['--import', '@authstack/telemetry/tracing', '--input-type=module', '-e', probe],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as {
      registered: string[];
      metrics: string;
      logs: string;
      protocol: string;
    };
  }
  const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' };
  const OFF = { registered: [], metrics: null, logs: null, protocol: null };

  it('when no endpoint and no exporter is set, then nothing is registered and no variable is touched', () => {
    assert.deepEqual(loadedWith({ OTEL_SERVICE_NAME: 'probe' }), OFF);
  });

  it('when an endpoint or an exporter is set, then the SDK registers context, propagation and a tracer provider, with the three defaults', () => {
    for (const on of [
      ENDPOINT as Record<string, string>,
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces' },
      { OTEL_TRACES_EXPORTER: 'console' },
    ])
      assert.deepEqual(loadedWith(on), {
        registered: ['context', 'propagation', 'trace'],
        metrics: 'none',
        logs: 'none',
        protocol: 'http/json',
      });
  });

  it('when a default variable is set, then its value stays', () => {
    const set = {
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    };
    assert.equal(loadedWith({ ...ENDPOINT, ...set }).protocol, 'http/protobuf');
  });

  it('when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, then nothing is registered', () => {
    assert.deepEqual(loadedWith({ ...ENDPOINT, OTEL_SDK_DISABLED: 'true' }), OFF);
    assert.deepEqual(loadedWith({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'none' }), OFF);
  });
});
