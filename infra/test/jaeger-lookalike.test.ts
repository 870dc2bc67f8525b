/**
 * The CI look-alike of Jaeger (infra/ci-lookalikes/jaeger/server.ts), run here as a plain Node process: it receives
 * OTLP/HTTP JSON as the services' exporter sends it (hex ids, nanoseconds as strings, typed attribute values), answers
 * the query API in Jaeger's JSON shape, refuses protobuf with 415, keeps a bounded number of spans, and serves every
 * query path the container stage's trace test reads.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type JaegerTrace, type RunningJaeger, startJaeger } from '../ci-lookalikes/jaeger/server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TRACE = '5b8efff798038103d269b633813fc60c';
const ROOT_SPAN = 'eee19b7ec3c1b174';
const CHILD_SPAN = 'eee19b7ec3c1b173';
const CALLER = '00f067aa0ba902b7';

/** One export request as @opentelemetry/exporter-trace-otlp-http (JSON) sends it. */
function exportRequest(service: string, trace = TRACE, spans = [ROOT_SPAN, CHILD_SPAN]) {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: service } },
            { key: 'host.name', value: { stringValue: 'box' } },
          ],
        },
        scopeSpans: [
          {
            scope: { name: '@opentelemetry/instrumentation-http', version: '0.301.0' },
            spans: [
              {
                traceId: trace,
                spanId: spans[0],
                parentSpanId: CALLER,
                name: 'POST /auth/login',
                kind: 2,
                startTimeUnixNano: '1544712660000000000',
                endTimeUnixNano: '1544712660120000000',
                attributes: [
                  { key: 'http.response.status_code', value: { intValue: 200 } },
                  { key: 'url.path', value: { stringValue: '/auth/login' } },
                ],
                status: { code: 0 },
              },
              {
                traceId: trace,
                spanId: spans[1],
                parentSpanId: spans[0],
                name: 'bcrypt.compare',
                kind: 1,
                startTimeUnixNano: '1544712660010000000',
                endTimeUnixNano: '1544712660090000000',
                attributes: [{ key: 'bcrypt.cost', value: { intValue: '12' } }],
                events: [{ timeUnixNano: '1544712660050000000', name: 'done', attributes: [] }],
                status: { code: 2, message: 'boom' },
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('the CI look-alike of Jaeger', () => {
  let jaeger: RunningJaeger;
  let otlp: string;
  let query: string;
  const logged: string[] = [];
  before(async () => {
    jaeger = await startJaeger({
      host: '127.0.0.1',
      otlpPort: 0,
      queryPort: 0,
      healthPort: 0,
      maxSpans: 6,
      log: (line) => logged.push(line),
    });
    otlp = `http://127.0.0.1:${jaeger.ports.otlp}/v1/traces`;
    query = `http://127.0.0.1:${jaeger.ports.query}`;
  });
  after(() => jaeger.close());
  const post = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(otlp, {
      method: 'POST',
      headers,
      body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });
  const get = async <T>(path: string) => {
    const res = await fetch(`${query}${path}`);
    return { status: res.status, body: (await res.json()) as { data: T; errors: { msg: string }[] | null } };
  };

  it('when its health check is asked, then it answers 200 on /status', async () => {
    const res = await fetch(`http://127.0.0.1:${jaeger.ports.health}/status`);
    assert.equal(res.status, 200);
  });

  it('when OTLP JSON arrives, then the trace reads back in Jaeger’s shape: ids, references, microseconds, tags, processes', async () => {
    assert.equal((await post(exportRequest('auth'))).status, 200);
    const { status, body } = await get<JaegerTrace[]>(`/api/traces/${TRACE}`);
    assert.equal(status, 200);
    const [trace] = body.data;
    assert.equal(trace!.traceID, TRACE);
    assert.deepEqual(trace!.processes, {
      p1: { serviceName: 'auth', tags: [{ key: 'host.name', type: 'string', value: 'box' }] },
    });
    const [server, bcrypt] = trace!.spans;
    assert.equal(server!.spanID, ROOT_SPAN);
    assert.equal(server!.operationName, 'POST /auth/login');
    assert.deepEqual(server!.references, [{ refType: 'CHILD_OF', traceID: TRACE, spanID: CALLER }]);
    assert.equal(server!.startTime, 1544712660000000);
    assert.equal(server!.duration, 120_000);
    assert.equal(server!.processID, 'p1');
    assert.deepEqual(
      server!.tags.filter((t) => ['http.response.status_code', 'span.kind'].includes(t.key)),
      [
        { key: 'http.response.status_code', type: 'int64', value: 200 },
        { key: 'span.kind', type: 'string', value: 'server' },
      ],
    );
    assert.deepEqual(bcrypt!.references, [{ refType: 'CHILD_OF', traceID: TRACE, spanID: ROOT_SPAN }]);
    assert.ok(bcrypt!.tags.some((t) => t.key === 'bcrypt.cost' && t.value === 12));
    assert.ok(bcrypt!.tags.some((t) => t.key === 'error' && t.value === true));
    assert.ok(bcrypt!.tags.some((t) => t.key === 'otel.status_description' && t.value === 'boom'));
    assert.ok(!bcrypt!.tags.some((t) => t.key === 'span.kind'), 'an internal span carries no span.kind');
    assert.equal(bcrypt!.logs[0]!.timestamp, 1544712660050000);

    assert.deepEqual((await get<string[]>('/api/services')).body.data, ['auth']);
    assert.deepEqual((await get<string[]>('/api/services/auth/operations')).body.data, [
      'POST /auth/login',
      'bcrypt.compare',
    ]);
    const found = await get<JaegerTrace[]>('/api/traces?service=auth&limit=5');
    assert.deepEqual(
      found.body.data.map((t) => t.traceID),
      [TRACE],
    );
    assert.deepEqual((await get<JaegerTrace[]>('/api/traces?service=resource')).body.data, []);
  });

  it('when the same trace arrives from a second service, gzip-encoded, then it is one trace with two processes', async () => {
    const res = await post(
      gzipSync(JSON.stringify(exportRequest('resource', TRACE, ['1'.repeat(16), '2'.repeat(16)]))),
      {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
    );
    assert.equal(res.status, 200);
    const [trace] = (await get<JaegerTrace[]>(`/api/traces/${TRACE}`)).body.data;
    assert.equal(trace!.spans.length, 4);
    assert.deepEqual(
      Object.values(trace!.processes).map((p) => p.serviceName),
      ['auth', 'resource'],
    );
  });

  it('when protobuf arrives, then it answers 415 and says to send JSON', async () => {
    const res = await post('\x0a\x00', { 'content-type': 'application/x-protobuf' });
    assert.equal(res.status, 415);
    assert.match(
      ((await res.json()) as { message: string }).message,
      /OTEL_EXPORTER_OTLP_PROTOCOL=http\/json/,
    );
    const line = JSON.parse(logged.at(-1)!) as { status: number; contentType: string };
    assert.deepEqual(
      [line.status, line.contentType],
      [415, 'application/x-protobuf'],
      'the refusal is logged',
    );
  });

  it('when asked wrongly, then it answers as Jaeger does: 400 without a service, 404 for an unknown trace', async () => {
    const missing = await get('/api/traces');
    assert.equal(missing.status, 400);
    assert.match(missing.body.errors![0]!.msg, /service/);
    assert.equal((await get(`/api/traces/${'f'.repeat(32)}`)).status, 404);
    assert.equal((await post('{not json')).status, 400);
  });

  it('when more spans arrive than it keeps, then the oldest traces are dropped first', async () => {
    // 4 spans held; two more traces of 2 spans each make 8 over a bound of 6: the first trace goes.
    const second = 'a'.repeat(32);
    const third = 'b'.repeat(32);
    assert.equal((await post(exportRequest('auth', second))).status, 200);
    assert.equal((await post(exportRequest('auth', third))).status, 200);
    assert.equal(jaeger.store.spanCount, 4);
    assert.equal((await get(`/api/traces/${TRACE}`)).status, 404);
    assert.equal((await get(`/api/traces/${second}`)).status, 200);
    assert.equal((await get(`/api/traces/${third}`)).status, 200);
  });

  it("when the container stage's trace test queries Jaeger, then it uses only paths the look-alike serves", () => {
    const stageTest = readFileSync(join(ROOT, 'infra/container-test/traces.profile.test.ts'), 'utf8');
    const paths = [...stageTest.matchAll(/jaeger<[^>]*>\(\s*[`'](\/[^`'?$]*)/g)].map((m) => m[1]!);
    assert.deepEqual([...new Set(paths)].sort(), ['/api/services', '/api/traces/']);
  });
});
