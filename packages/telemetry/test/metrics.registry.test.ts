import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { createMetrics, type Metrics } from '../src/index.ts';

describe('metrics: one registry per app, bounded labels', () => {
  let metrics: Metrics;
  let url = '';
  let close: () => void;

  before(async () => {
    metrics = createMetrics('metrics-test');
    const app = express();
    app.get('/metrics', metrics.handler);
    app.use(metrics.middleware);
    app.get('/users/:id', (_req, res) => {
      res.json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    close = () => server.close();
  });
  after(() => close());

  const durationCount = async (labels: string) => {
    const text = await metrics.registry.getSingleMetricAsString('http_request_duration_seconds');
    const line = text
      .split('\n')
      .find((l) => l.startsWith('http_request_duration_seconds_count{') && l.includes(labels));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('when two apps build their metrics in one process, then each has its own registry and service label', async () => {
    const other = createMetrics('other-service');
    assert.notEqual(other.registry, metrics.registry);
    assert.match(await other.registry.metrics(), /process_cpu_user_seconds_total\{service="other-service"\}/);
    assert.doesNotMatch(await metrics.registry.metrics(), /other-service/);
  });

  it('when requests hit a parameterised route, then they are counted under the route template, not the path', async () => {
    for (const id of ['1', '2', '3']) await (await fetch(`${url}/users/${id}`)).text();
    assert.equal(await durationCount('method="GET",route="/users/:id",status="200"'), 3);
    assert.doesNotMatch(await metrics.registry.metrics(), /route="\/users\/1"/);
  });

  it('when requests hit unknown paths, then they share one unmatched label', async () => {
    for (const path of ['/a', '/b/c', '/d?e=f']) await (await fetch(`${url}${path}`)).text();
    assert.equal(await durationCount('method="GET",route="unmatched",status="404"'), 3);
  });

  it('when /metrics is scraped, then the registry is served as Prometheus text', async () => {
    const res = await fetch(`${url}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), metrics.registry.contentType);
    assert.match(await res.text(), /# TYPE http_request_duration_seconds histogram/);
  });
});
