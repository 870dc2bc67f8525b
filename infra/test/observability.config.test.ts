import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { registerAndLogin, useAuth } from '@authstack/auth/testing';
import { useResource } from '@authstack/resource/testing';
import { http } from '@authstack/testing';
import { parse } from 'yaml';
import { verifierEnv } from '../../e2e/support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OBS = join(ROOT, 'infra/observability');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Compose {
  services: Record<
    string,
    {
      profiles?: string[];
      volumes?: string[];
      command?: string[];
      networks?: string[];
      network_mode?: string;
    }
  >;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  dns_sd_configs?: { names: string[]; type: string; port: number }[];
  static_configs?: { targets: string[] }[];
}
const prometheus = parse(readFileSync(join(OBS, 'prometheus.yml'), 'utf8')) as {
  global: Record<string, string>;
  scrape_configs: ScrapeConfig[];
};

interface Panel {
  title: string;
  datasource: { uid: string };
  targets: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(join(OBS, 'grafana/dashboards/authstack.json'), 'utf8')) as {
  uid: string;
  panels: Panel[];
};

/** Metrics no service of ours serves: their names as the nginx exporter (stub_status) and k6's remote write give them. */
const EXPORTER_METRICS = [
  'nginx_up',
  'nginx_connections_accepted',
  'nginx_connections_active',
  'nginx_connections_handled',
  'nginx_connections_reading',
  'nginx_connections_waiting',
  'nginx_connections_writing',
  'nginx_http_requests_total',
];
// k6 -o experimental-prometheus-rw with K6_PROMETHEUS_RW_TREND_STATS=p(95),p(99) (docker-compose.yml, k6).
const K6_METRICS = [
  'k6_http_reqs_total',
  'k6_http_req_failed_rate',
  'k6_http_req_duration_p95',
  'k6_http_req_duration_p99',
  'k6_vus',
];
const PROMETHEUS_METRICS = ['up'];

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);

/** The metric names a PromQL expression selects. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ') // grouping label lists
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges
    .replace(/"[^"]*"/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = match[0];
    const next = bare.slice((match.index ?? 0) + name.length).trimStart();
    if (next.startsWith('(') || PROMQL_WORDS.has(name)) continue;
    names.add(name);
  }
  return [...names];
}

describe('the observability profile, checked statically', () => {
  const auth = useAuth();
  const resource = useResource(() => verifierEnv(auth));
  const exposed = new Set<string>();

  before(async () => {
    // Exercise each labelled series once: logins (right and wrong), a refresh, reuse, verifications.
    const session = await registerAndLogin(auth.url);
    await http(`${auth.url}/auth/login`, {
      body: { username: session.username, password: 'not the password' },
    });
    await http(`${auth.url}/auth/refresh`, { body: { refresh_token: session.refresh_token } });
    await http(`${auth.url}/auth/refresh`, { body: { refresh_token: session.refresh_token } });
    await http(`${resource.url}/api/protected`, { token: session.access_token });
    await http(`${resource.url}/api/protected`, { token: session.access_token });
    await http(`${resource.url}/api/protected`, { token: 'not.a.token' });
    for (const url of [auth.url, resource.url]) {
      const text = await (await fetch(`${url}/metrics`)).text();
      for (const line of text.split('\n')) {
        const name = /^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/.exec(line)?.[1];
        if (name) exposed.add(name);
      }
    }
  });

  it('prometheus.yml finds every auth and resource replica by DNS on their ports, and nginx through the exporter', (t) => {
    const job = (name: string) => prometheus.scrape_configs.find((c) => c.job_name === name);
    assert.deepEqual(job('auth')?.dns_sd_configs, [
      { names: ['auth'], type: 'A', port: 3001, refresh_interval: '10s' },
    ]);
    assert.deepEqual(job('resource')?.dns_sd_configs, [
      { names: ['resource'], type: 'A', port: 3002, refresh_interval: '10s' },
    ]);
    assert.deepEqual(job('nginx')?.static_configs, [{ targets: ['gateway:9113'] }]);
    assert.ok(compose.services['nginx-exporter']!.command!.includes('--web.listen-address=:9113'));
    assert.equal(compose.services['nginx-exporter']!.network_mode, 'service:gateway');
    assert.ok(compose.services.prometheus!.networks!.includes('backend'), 'Prometheus reaches the replicas');
    assert.ok(
      compose.services.prometheus!.command!.includes('--web.enable-remote-write-receiver'),
      'k6 writes here',
    );
    assert.ok(
      compose.services.prometheus!.volumes!.includes(
        './infra/observability/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
      ),
    );
    for (const name of ['prometheus', 'nginx-exporter', 'grafana', 'jaeger'])
      assert.deepEqual(compose.services[name]!.profiles, ['observability'], name);
    // promtool, when this machine has it (Debian package `prometheus`), checks what the structure above cannot.
    const promtool = spawnSync(
      'promtool',
      ['check', 'config', '--syntax-only', join(OBS, 'prometheus.yml')],
      {
        encoding: 'utf8',
      },
    );
    if (promtool.error) t.diagnostic('promtool not installed: the structure was checked, not promtool');
    else assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);
  });

  it('Grafana is provisioned with the Prometheus data source and the dashboard file the panels use', () => {
    const datasources = parse(
      readFileSync(join(OBS, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
    );
    assert.equal(datasources.datasources[0].uid, 'prometheus');
    assert.equal(datasources.datasources[0].url, 'http://prometheus:9090');
    const providers = parse(readFileSync(join(OBS, 'grafana/provisioning/dashboards/authstack.yml'), 'utf8'));
    assert.equal(providers.providers[0].options.path, '/etc/grafana/dashboards');
    assert.ok(
      compose.services.grafana!.volumes!.includes(
        './infra/observability/grafana/dashboards:/etc/grafana/dashboards:ro',
      ),
    );
    for (const panel of dashboard.panels) {
      assert.equal(panel.datasource.uid, 'prometheus', panel.title);
      assert.ok(panel.targets.length > 0, panel.title);
    }
  });

  it('every metric a dashboard panel queries is exposed by a service, the nginx exporter or k6', () => {
    const known = new Set([...exposed, ...EXPORTER_METRICS, ...K6_METRICS, ...PROMETHEUS_METRICS]);
    const queried = dashboard.panels.flatMap((panel) =>
      panel.targets.flatMap((target) =>
        metricNames(target.expr).map((name) => ({ name, panel: panel.title })),
      ),
    );
    assert.ok(queried.length > 20);
    const missing = queried.filter(({ name }) => !known.has(name));
    assert.deepEqual(missing, []);
    // And the service metrics the dashboard was built around are among them.
    for (const name of [
      'auth_login_total',
      'auth_bcrypt_duration_seconds_bucket',
      'http_request_duration_seconds_bucket',
      'resource_token_verifications_total',
      'resource_verified_token_cache',
      'auth_refresh_reuse_total',
      'resource_jwks_fetches_total',
    ])
      assert.ok(queried.some((q) => q.name === name) && exposed.has(name), name);
  });

  it('the metric-name extraction reads PromQL as the dashboard writes it', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.95, sum by (le, op) (rate(auth_bcrypt_duration_seconds_bucket{op="compare"}[1m])))',
      ),
      ['auth_bcrypt_duration_seconds_bucket'],
    );
    assert.deepEqual(metricNames('sum(a_total) / clamp_min(sum(b_total) + sum(c_total), 1)'), [
      'a_total',
      'b_total',
      'c_total',
    ]);
  });
});
