/**
 * The k6 dashboard (infra/observability/grafana/dashboards/k6.json) queries only series k6's Prometheus remote-write
 * output (`-o experimental-prometheus-rw`) writes for this project: its metric names follow k6's documented mapping
 * (prefix k6_; counters _total, rates _rate, gauges as they are, trends one gauge per stat of
 * K6_PROMETHEUS_RW_TREND_STATS, which docker-compose.yml sets), for k6's built-in metrics and the scripts' own
 * (load-tests/*.ts); its labels are k6's default system tags and the run's `testid`. A `testid` variable selects one
 * run, and every query is limited to it (make load tags each run `testid=<report name>`).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { promqlNames } from './promql.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type MetricType = 'Counter' | 'Gauge' | 'Rate' | 'Trend';
/** k6's built-in metrics (k6 documentation, "Built-in metrics": the standard and the HTTP ones). */
const BUILT_IN: Record<string, MetricType> = {
  vus: 'Gauge',
  vus_max: 'Gauge',
  iterations: 'Counter',
  iteration_duration: 'Trend',
  dropped_iterations: 'Counter',
  data_received: 'Counter',
  data_sent: 'Counter',
  checks: 'Rate',
  http_reqs: 'Counter',
  http_req_blocked: 'Trend',
  http_req_connecting: 'Trend',
  http_req_tls_handshaking: 'Trend',
  http_req_sending: 'Trend',
  http_req_waiting: 'Trend',
  http_req_receiving: 'Trend',
  http_req_duration: 'Trend',
  http_req_failed: 'Rate',
};
/** k6's default system tags (k6 documentation, "Tags and groups"), and the test-wide tag make load sets. */
const LABELS = new Set([
  'proto',
  'subproto',
  'status',
  'method',
  'url',
  'name',
  'group',
  'check',
  'error',
  'error_code',
  'tls_version',
  'scenario',
  'service',
  'expected_response',
  'testid',
]);

/** The metrics the scripts define themselves: `new Counter('name')` and the like. */
function scriptMetrics(): Record<string, MetricType> {
  const metrics: Record<string, MetricType> = {};
  const dir = join(ROOT, 'load-tests');
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
    const source = readFileSync(join(dir, file), 'utf8');
    for (const match of source.matchAll(/new (Counter|Gauge|Rate|Trend)\('([a-z_]+)'/g))
      metrics[match[2]!] = match[1] as MetricType;
  }
  return metrics;
}

/** The suffix of each stat: `p(95)` -> p95, `p(99.9)` -> p999, the others as named (count, sum, min, max, avg, med). */
const statSuffix = (stat: string) =>
  stat.startsWith('p(') ? `p${stat.slice(2, -1).replaceAll('.', '')}` : stat;

/** The series names remote write produces for these metrics and trend stats. */
function remoteWriteNames(metrics: Record<string, MetricType>, trendStats: string): Set<string> {
  const stats = trendStats.split(',').map((stat) => statSuffix(stat.trim()));
  const names = new Set<string>();
  for (const [metric, type] of Object.entries(metrics)) {
    if (type === 'Counter') names.add(`k6_${metric}_total`);
    else if (type === 'Rate') names.add(`k6_${metric}_rate`);
    else if (type === 'Gauge') names.add(`k6_${metric}`);
    else for (const stat of stats) names.add(`k6_${metric}_${stat}`);
  }
  return names;
}

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(
  readFileSync(join(ROOT, 'infra/observability/grafana/dashboards/k6.json'), 'utf8'),
) as { uid: string; panels: Panel[]; templating: { list: { name: string; query: string; type: string }[] } };
const panels = dashboard.panels
  .flatMap((panel) => [panel, ...(panel.panels ?? [])])
  .filter((p) => p.type !== 'row');
const queries = [
  ...panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: panel.title, expr: target.expr })),
  ),
  ...dashboard.templating.list.map((variable) => ({
    where: `variable ${variable.name}`,
    expr: variable.query,
  })),
];

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: { k6: { environment: Record<string, string> } };
};
const TREND_STATS = compose.services.k6.environment.K6_PROMETHEUS_RW_TREND_STATS!;

/** The series a reader of k6's dashboards looks for first. */
const LOOKED_FOR = [
  'k6_http_reqs_total',
  'k6_http_req_duration_p95',
  'k6_http_req_duration_p99',
  'k6_http_req_failed_rate',
  'k6_vus',
  'k6_iterations_total',
  'k6_checks_rate',
  'k6_data_sent_total',
];

describe('the k6 dashboard', () => {
  const emitted = remoteWriteNames({ ...BUILT_IN, ...scriptMetrics() }, TREND_STATS);

  it('when the names are derived, then they follow the documented mapping and the stats compose sets', () => {
    assert.equal(TREND_STATS, 'p(95),p(99)');
    for (const name of [
      ...LOOKED_FOR,
      'k6_data_received_total',
      'k6_refresh_chain_breaks_total',
      'k6_limiter_refusals_rate',
    ])
      assert.ok(emitted.has(name), name);
    // A stat compose does not set is not written: with p(90) alone, no _p95 and no _p99.
    const other = remoteWriteNames(BUILT_IN, 'p(90)');
    assert.ok(other.has('k6_http_req_duration_p90') && !other.has('k6_http_req_duration_p95'));
    assert.ok(remoteWriteNames(BUILT_IN, 'p(99.9),max').has('k6_http_req_duration_p999'));
    for (const name of ['k6_http_req_duration_seconds', 'k6_http_reqs', 'k6_vus_total', 'k6_checks'])
      assert.ok(!emitted.has(name), name);
  });

  it('when its queries are read, then every metric is one the remote-write output writes', () => {
    const used = queries.flatMap(({ where, expr }) =>
      promqlNames(expr).metrics.map((name) => ({ where, name })),
    );
    assert.ok(used.length >= 30, `${used.length} metric uses`);
    assert.deepEqual(
      used.filter(({ name }) => !emitted.has(name)),
      [],
    );
    // The names the issue's readers look for are there.
    for (const name of LOOKED_FOR)
      assert.ok(
        used.some((use) => use.name === name),
        name,
      );
  });

  it('when its queries are read, then every label is a k6 system tag or the testid', () => {
    const labels = queries.flatMap(({ where, expr }) =>
      promqlNames(expr).labels.map((label) => ({ where, label })),
    );
    assert.deepEqual(
      labels.filter(({ label }) => !LABELS.has(label)),
      [],
    );
  });

  it('when a run is picked, then every panel shows that run only (the testid variable)', () => {
    const testid = dashboard.templating.list.find((variable) => variable.name === 'testid');
    assert.ok(testid, 'a testid variable');
    assert.equal(testid.type, 'query');
    assert.match(testid.query, /^label_values\(k6_[a-z_]+, testid\)$/);
    assert.ok(emitted.has(promqlNames(testid.query).metrics[0]!), testid.query);
    const variables = new Set(dashboard.templating.list.map((variable) => variable.name));
    for (const panel of panels)
      for (const target of panel.targets ?? []) {
        assert.match(target.expr, /testid="\$testid"/, panel.title);
        for (const used of target.expr.matchAll(/\$(\w+)/g))
          if (!used[1]!.startsWith('__')) assert.ok(variables.has(used[1]!), `${panel.title}: $${used[1]}`);
      }
    // The scenario and request variables read the selected run.
    for (const name of ['scenario', 'name'])
      assert.match(
        dashboard.templating.list.find((v) => v.name === name)?.query ?? '',
        /testid="\$testid"/,
        name,
      );
  });

  it('when PromQL is read, then names and labels come out as the dashboard writes them', () => {
    assert.deepEqual(
      promqlNames(
        'sum by (scenario, name) (rate(k6_http_reqs_total{testid="$testid", name=~"$name"}[$__rate_interval]))',
      ),
      { metrics: ['k6_http_reqs_total'], labels: ['scenario', 'name', 'testid'] },
    );
    assert.deepEqual(promqlNames('label_values(k6_vus, testid)'), {
      metrics: ['k6_vus'],
      labels: ['testid'],
    });
    assert.deepEqual(
      promqlNames('label_values(k6_http_reqs_total{testid="$testid", scenario=~"$scenario"}, name)'),
      {
        metrics: ['k6_http_reqs_total'],
        labels: ['testid', 'scenario', 'name'],
      },
    );
    assert.deepEqual(promqlNames('max(a_p95) / sum(b_total)'), { metrics: ['a_p95', 'b_total'], labels: [] });
  });

  it('when Grafana loads the dashboards, then this one has its own uid', () => {
    assert.equal(dashboard.uid, 'k6');
  });
});
