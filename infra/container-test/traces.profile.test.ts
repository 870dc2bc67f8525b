/**
 * Traces in the container stage: the stack runs with docker-compose.observability.yml on top (as `make observe`
 * starts it), so auth and both resources export their spans by OTLP/HTTP to the profile's Jaeger (a CI look-alike
 * where the upstream image cannot be pulled: infra/ci-lookalikes/jaeger). Through the gateway, a user logs in, calls
 * the stateless protected route and the session-checked one, each with a client traceparent that asks for no sampling
 * (flags 00), which the gateway by default replaces by its own: each trace's id is the request id the gateway
 * returns in X-Request-Id. Then Jaeger's query API must show, as it received them:
 *   - the login: auth's server span with a bcrypt span and a Redis command (the login script) below it;
 *   - the stateless call: the resource's spans (token verification) and no span of auth;
 *   - the session-checked call: resource-session's Redis command (the session lookup).
 * Each trace is written as a tree (service, operation, duration, parent) to test-results/container-stage/traces.txt
 * (git-ignored) and printed.
 *
 * Environment (set by the stage script): COMPOSE_PROJECT_NAME, GATEWAY_HTTPS_PORT and JAEGER_UI_PORT (published on
 * 127.0.0.1).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import type { JaegerSpan, JaegerTrace } from '../ci-lookalikes/jaeger/server.ts';
import { BASE, dispatcher, eventually, ROOT } from './stack.ts';

const JAEGER = `http://127.0.0.1:${process.env.JAEGER_UI_PORT ?? 16686}`;
const TRACES_FILE = join(ROOT, 'test-results/container-stage/traces.txt');
const PASSWORD = 'correct horse battery staple traces';
/** The services' batch delay (OTEL_BSP_SCHEDULE_DELAY, 5 s by default) and some: a span that exists has been sent. */
const FLUSHED_MS = 8_000;

/**
 * A client's own traceparent, not sampled (flags 00): the gateway replaces it by one built from its request id,
 * sampled, so the client can neither hide its requests' spans nor choose their trace id.
 */
const unsampledTraceparent = () =>
  `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`;

async function call(method: 'GET' | 'POST', path: string, options: { body?: unknown; token?: string } = {}) {
  const res = await request(`${BASE}${path}`, {
    method,
    dispatcher,
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
    headers: {
      ...(options.body ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      traceparent: unsampledTraceparent(),
    },
    ...(options.body ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.body.text();
  const body: Record<string, unknown> = text.startsWith('{') ? JSON.parse(text) : { text };
  // The gateway's request id: the trace id of the services' spans for this request.
  const requestId = String(res.headers['x-request-id'] ?? '');
  return { status: res.statusCode, body, requestId };
}

async function jaeger<T>(path: string): Promise<{ status: number; data: T }> {
  const res = await fetch(`${JAEGER}${path}`);
  const body = (await res.json()) as { data: T };
  return { status: res.status, data: body.data };
}
async function traceById(traceId: string): Promise<JaegerTrace | undefined> {
  const { status, data } = await jaeger<JaegerTrace[]>(`/api/traces/${traceId}`);
  return status === 200 ? data[0] : undefined;
}

/** A trace as a tree of spans, with each span's service. */
class Tree {
  readonly trace: JaegerTrace;
  readonly spans: JaegerSpan[];
  constructor(trace: JaegerTrace) {
    this.trace = trace;
    this.spans = [...trace.spans].sort((a, b) => a.startTime - b.startTime);
  }
  service(span: JaegerSpan): string {
    return this.trace.processes[span.processID]?.serviceName ?? '?';
  }
  parent(span: JaegerSpan): string | undefined {
    return span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
  }
  children(span: JaegerSpan): JaegerSpan[] {
    return this.spans.filter((s) => this.parent(s) === span.spanID);
  }
  descendants(span: JaegerSpan): JaegerSpan[] {
    return this.children(span).flatMap((child) => [child, ...this.descendants(child)]);
  }
  servers(service: string): JaegerSpan[] {
    return this.spans.filter((s) => this.service(s) === service && tag(s, 'span.kind') === 'server');
  }
  /** Roots: spans whose parent is not in the trace (the gateway's, from the traceparent it sent, never exported). */
  roots(): JaegerSpan[] {
    const ids = new Set(this.spans.map((s) => s.spanID));
    return this.spans.filter((s) => !ids.has(this.parent(s) ?? ''));
  }
  render(title: string): string {
    const lines = [`${title}: trace ${this.trace.traceID}, ${this.spans.length} spans`];
    const walk = (span: JaegerSpan, depth: number) => {
      const parent = this.parent(span);
      const ids = new Set(this.spans.map((s) => s.spanID));
      const from = !parent
        ? 'no parent'
        : ids.has(parent)
          ? `parent ${parent}`
          : `parent ${parent} (the gateway's, not exported)`;
      lines.push(
        `${'  '.repeat(depth + 1)}${this.service(span)}  ${span.operationName}  ` +
          `${(span.duration / 1000).toFixed(2)} ms  [span ${span.spanID}, ${from}]`,
      );
      for (const child of this.children(span)) walk(child, depth + 1);
    };
    for (const root of this.roots()) walk(root, 0);
    return lines.join('\n');
  }
}
const tag = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;
/** A Redis command's span (newer semantic conventions first). */
const isRedis = (span: JaegerSpan) => (tag(span, 'db.system.name') ?? tag(span, 'db.system')) === 'redis';

/**
 * Polls Jaeger until the trace holds a server span of `service` whose descendants `complete` accepts. When it does
 * not come, the failure says what was received (services and span count; the whole tree is in the traces file).
 */
async function waitForTrace(
  traceId: string,
  service: string,
  what: string,
  complete: (below: JaegerSpan[]) => boolean,
): Promise<Tree> {
  let tree: Tree | undefined;
  try {
    await eventually(
      what,
      async () => {
        const trace = await traceById(traceId);
        if (!trace) return false;
        tree = new Tree(trace);
        const server = tree.servers(service)[0];
        return server !== undefined && complete(tree.descendants(server));
      },
      90,
    );
  } catch (error) {
    const received = tree
      ? `${tree.spans.length} spans of ${[...new Set(tree.spans.map((s) => tree!.service(s)))].join(', ')}`
      : 'no trace';
    assert.fail(`${(error as Error).message}; received: ${received} (the tree: ${TRACES_FILE})`);
  }
  return tree!;
}

describe('traces of the container stack, as Jaeger received them', { concurrency: false }, () => {
  /** Each call's trace id: the X-Request-Id the gateway answered with. */
  const login = { traceId: '' };
  const stateless = { traceId: '' };
  const session = { traceId: '' };
  let token = '';
  let lastCall = 0;
  const trees = new Map<string, Tree>();
  const titles: [string, { traceId: string }][] = [
    ['login (POST /auth/login)', login],
    ['stateless protected call (GET /api/protected)', stateless],
    ['session-checked protected call (GET /api-session/protected)', session],
  ];

  // What was received, also when a check failed: the trees, or what is missing.
  after(async () => {
    const parts: string[] = [];
    for (const [title, { traceId }] of titles) {
      if (!traceId) {
        parts.push(`${title}: no request id (the call did not answer)`);
        continue;
      }
      const tree =
        trees.get(title) ??
        (await traceById(traceId)
          .catch(() => undefined)
          .then((t) => t && new Tree(t)));
      parts.push(tree ? tree.render(title) : `${title}: trace ${traceId}, nothing received`);
    }
    const text = `${parts.join('\n\n')}\n`;
    mkdirSync(dirname(TRACES_FILE), { recursive: true });
    writeFileSync(TRACES_FILE, text);
    console.log(`# the traces Jaeger received (${TRACES_FILE}):\n${text}`);
  });

  it("when a user logs in and calls the stateless and the session-checked protected routes with an unsampled traceparent of the client's, then the gateway answers each with its request id", async () => {
    const username = `traces${process.pid}x${Date.now().toString(36)}`;
    const registered = await call('POST', '/auth/register', { body: { username, password: PASSWORD } });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const loggedIn = await call('POST', '/auth/login', { body: { username, password: PASSWORD } });
    assert.equal(loggedIn.status, 200, JSON.stringify(loggedIn.body));
    token = String(loggedIn.body.access_token);
    const protectedCall = await call('GET', '/api/protected', { token });
    assert.equal(protectedCall.status, 200, JSON.stringify(protectedCall.body));
    const sessionCall = await call('GET', '/api-session/protected', { token });
    assert.equal(sessionCall.status, 200, JSON.stringify(sessionCall.body));
    lastCall = Date.now();
    for (const [answer, into] of [
      [loggedIn, login],
      [protectedCall, stateless],
      [sessionCall, session],
    ] as const) {
      assert.match(answer.requestId, /^[0-9a-f]{32}$/, 'X-Request-Id');
      into.traceId = answer.requestId;
    }
  });

  it("when Jaeger is asked for the login's trace, then auth's server span has a bcrypt span and a Redis command below it", async () => {
    const tree = await waitForTrace(
      login.traceId,
      'auth',
      "the login's trace with auth's bcrypt and Redis spans",
      (below) => below.some((s) => s.operationName.startsWith('bcrypt.')) && below.some(isRedis),
    );
    trees.set(titles[0]![0], tree);
    const [server] = tree.servers('auth');
    assert.equal(
      tree.parent(server!),
      login.traceId.slice(16),
      "the parent is the gateway's, not the client's",
    );
    assert.ok(
      tree.descendants(server!).some((s) => s.operationName === 'bcrypt.compare'),
      'bcrypt.compare below the server span',
    );
    assert.deepEqual(
      tree.spans.filter(isRedis).map((s) => tag(s, 'db.statement') ?? tag(s, 'db.query.text') ?? ''),
      tree.spans.filter(isRedis).map((s) => s.operationName),
      "a Redis span's statement is its command's name, never its arguments",
    );
    const received = JSON.stringify(tree.trace);
    assert.ok(!received.includes(PASSWORD), 'no password in any span');
    assert.ok(!received.includes(token), 'no token in any span');
    const services = await jaeger<string[]>('/api/services');
    assert.ok(services.data.includes('auth'), `services: ${services.data.join(', ')}`);
  });

  it("when Jaeger is asked for the session-checked call's trace, then resource-session's Redis command is below its server span", async () => {
    const tree = await waitForTrace(
      session.traceId,
      'resource-session',
      "the session-checked call's trace with resource-session's Redis command",
      (below) => below.some(isRedis),
    );
    trees.set(titles[2]![0], tree);
    const [server] = tree.servers('resource-session');
    const redis = tree.descendants(server!).filter(isRedis);
    assert.ok(redis.every((s) => tree.service(s) === 'resource-session'));
  });

  it("when Jaeger is asked for the stateless call's trace, then it holds the resource's spans and no span of auth", async () => {
    await waitForTrace(
      stateless.traceId,
      'resource',
      "the stateless call's trace with the resource's token verification",
      (below) => below.some((s) => s.operationName === 'jwt.verify'),
    );
    // Auth's exporter works (the login's trace arrived); whatever auth would have done for this call is sent by now.
    const wait = lastCall + FLUSHED_MS - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const tree = new Tree((await traceById(stateless.traceId))!);
    trees.set(titles[1]![0], tree);
    const services = new Set(tree.spans.map((s) => tree.service(s)));
    assert.deepEqual([...services], ['resource'], `services in the trace: ${[...services].join(', ')}`);
    assert.ok(
      tree.spans.every((s) => !isRedis(s)),
      'the stateless resource sends no Redis command',
    );
    const verify = tree.spans.find((s) => s.operationName === 'jwt.verify')!;
    assert.equal(tag(verify, 'jwt.result'), 'valid');
  });
});
