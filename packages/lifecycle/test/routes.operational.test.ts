import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpProblem } from '@authstack/http-problem';
import { createLogger, createMetrics, httpLogger } from '@authstack/telemetry';
import express from 'express';
import { errorRoutes, type Listening, listen, operationalRoutes } from '../src/index.ts';

describe('operational routes and error routes', () => {
  const logLines: Record<string, unknown>[] = [];
  let ready = true;
  let running: Listening;

  before(async () => {
    const logger = createLogger({
      service: 'routes-test',
      level: 'info',
      destination: { write: (line: string) => void logLines.push(JSON.parse(line)) },
    });
    const app = express();
    operationalRoutes(app, { ready: async () => ready, metrics: createMetrics('routes-test') });
    app.use(httpLogger(logger));
    app.get('/crash', () => {
      throw new Error('connection to 10.0.0.5:5432 refused');
    });
    app.get('/refused', () => {
      throw new HttpProblem({ status: 409, code: 'username_taken', title: 'Username taken' });
    });
    errorRoutes(app, logger);
    running = await listen(
      app,
      { logger, markShuttingDown() {}, async close() {} },
      {
        port: 0,
        host: '127.0.0.1',
        shutdownTimeoutSec: 1,
      },
    );
  });
  after(() => running.stop());

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${running.url}${path}`, { headers });
  const errorLines = () => logLines.filter((line) => line.level === 'error' && line.code !== undefined);

  it('when /healthz is asked, then 200 ok', async () => {
    const res = await get('/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('when the dependencies are reachable, then /readyz answers 200 ready', async () => {
    ready = true;
    const res = await get('/readyz');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ready' });
  });

  it('when a dependency is unreachable, then /readyz answers 503 not_ready', async () => {
    ready = false;
    const res = await get('/readyz');
    ready = true;
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: 'not_ready' });
  });

  it('when /metrics is asked, then the Prometheus text of this service comes back', async () => {
    const res = await get('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await res.text(), /process_cpu_user_seconds_total\{service="routes-test"\}/);
  });

  it('when the path is unknown, then 404 not_found as problem+json with the request id', async () => {
    const res = await get('/nowhere', { 'x-request-id': 'gateway-id-0001' });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.code, 'not_found');
    assert.equal(body.request_id, 'gateway-id-0001');
    assert.equal(res.headers.get('x-request-id'), 'gateway-id-0001');
  });

  it('when a route fails unexpectedly, then 500 internal_error and the cause is logged at error with the request id', async () => {
    logLines.length = 0;
    const res = await get('/crash', { 'x-request-id': 'gateway-id-0002' });
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.equal((JSON.parse(text) as { code: string }).code, 'internal_error');
    assert.doesNotMatch(text, /10\.0\.0\.5/);
    const [logged] = errorLines();
    assert.equal(logged?.request_id, 'gateway-id-0002');
    assert.equal(logged?.code, 'internal_error');
    assert.match(
      String((logged?.err as { message?: unknown } | undefined)?.message),
      /10\.0\.0\.5:5432 refused/,
    );
  });

  it('when a route refuses with a 4xx problem, then it is answered and not logged as an error', async () => {
    logLines.length = 0;
    const res = await get('/refused');
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as { code: string }).code, 'username_taken');
    assert.deepEqual(errorLines(), []);
  });

  it('when operational routes are called, then they are not in the request log', async () => {
    logLines.length = 0;
    await Promise.all(['/healthz', '/readyz', '/metrics'].map((path) => get(path).then((res) => res.text())));
    await (await get('/nowhere')).text();
    const paths = logLines.map((line) => (line.req as { path?: string } | undefined)?.path);
    assert.deepEqual(paths, ['/nowhere']);
  });
});
