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
import { alertingRules, findPromtool } from './alert-rules.ts';
import { promqlNames } from './promql.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OBS = join(ROOT, 'infra/observability');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Compose {
  services: Record<
    string,
    {
      image?: string;
      profiles?: string[];
      volumes?: string[];
      command?: string[];
      environment?: Record<string, string>;
      networks?: string[];
      network_mode?: string;
      restart?: string;
    }
  >;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  params?: Record<string, string[]>;
  dns_sd_configs?: { names: string[]; type: string; port: number }[];
  static_configs?: { targets: string[] }[];
  relabel_configs?: { source_labels?: string[]; target_label: string; replacement?: string }[];
}
const prometheus = parse(readFileSync(join(OBS, 'prometheus.yml'), 'utf8')) as {
  global: Record<string, string>;
  rule_files: string[];
  scrape_configs: ScrapeConfig[];
};
const blackbox = parse(readFileSync(join(OBS, 'blackbox.yml'), 'utf8')) as {
  modules: Record<string, { prober: string; http?: { tls_config?: { ca_file?: string } } }>;
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
/** What the blackbox exporter's HTTP prober gives per probe (the alerts read these). */
const BLACKBOX_METRICS = ['probe_success', 'probe_ssl_earliest_cert_expiry', 'probe_http_status_code'];
/** What the gateway-log sidecar's mtail program declares (a histogram as Prometheus's three series of it). */
const GATEWAY_LOG_METRICS = [
  ...readFileSync(join(OBS, 'mtail/gateway.mtail'), 'utf8').matchAll(/^(counter|gauge|histogram)\s+(\w+)/gm),
].flatMap(([, kind, name]) =>
  kind === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
);

/**
 * The compose services that serve Prometheus metrics, as host:port seen from Prometheus: every long-running service
 * of the auth and resource images (their PORT), every exporter of the profile (its --web.listen-address; one in
 * another service's network namespace is reached by that service's name), and Prometheus itself.
 */
function metricsEndpoints(): Map<string, string> {
  const endpoints = new Map<string, string>();
  for (const [name, service] of Object.entries(compose.services)) {
    const image = service.image ?? '';
    if (/^authstack\/(auth|resource):/.test(image) && service.restart !== 'no')
      endpoints.set(name, `${name}:${service.environment?.PORT}`);
    if (service.profiles?.includes('observability') && /exporter/.test(image)) {
      const port = service.command
        ?.map((arg) => /^--web\.listen-address=:(\d+)$/.exec(arg)?.[1])
        .find(Boolean);
      const host = service.network_mode?.replace(/^service:/, '') ?? name;
      endpoints.set(name, `${host}:${port}`);
    }
  }
  endpoints.set('prometheus', 'localhost:9090');
  return endpoints;
}

/** Every host:port a scrape job reaches: DNS names with their port, static targets, a relabelled __address__. */
function scrapedAddresses(job: ScrapeConfig): string[] {
  const relabelled = job.relabel_configs?.find((r) => r.target_label === '__address__')?.replacement;
  if (relabelled) return [relabelled];
  return [
    ...(job.dns_sd_configs ?? []).flatMap((sd) => sd.names.map((name) => `${name}:${sd.port}`)),
    ...(job.static_configs ?? []).flatMap((sc) => sc.targets),
  ];
}

describe('the observability profile, checked statically', () => {
  const auth = useAuth();
  const resource = useResource(() => verifierEnv(auth));
  const exposed = new Set<string>();
  const exposition: string[] = [];

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
      await fetch(`${url}/readyz`); // sets dependency_ready
      const text = await (await fetch(`${url}/metrics`)).text();
      exposition.push(...text.split('\n'));
      for (const line of text.split('\n')) {
        const name = /^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/.exec(line)?.[1];
        if (name) exposed.add(name);
      }
    }
  });

  it('prometheus.yml finds every auth, resource and resource-session replica by DNS on their ports, and nginx through the exporter', () => {
    const job = (name: string) => prometheus.scrape_configs.find((c) => c.job_name === name);
    assert.deepEqual(job('auth')?.dns_sd_configs, [
      { names: ['auth'], type: 'A', port: 3001, refresh_interval: '10s' },
    ]);
    assert.deepEqual(job('resource')?.dns_sd_configs, [
      { names: ['resource'], type: 'A', port: 3002, refresh_interval: '10s' },
    ]);
    assert.deepEqual(job('resource-session')?.dns_sd_configs, [
      { names: ['resource-session'], type: 'A', port: 3002, refresh_interval: '10s' },
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
    for (const name of ['prometheus', 'nginx-exporter', 'blackbox-exporter', 'grafana', 'jaeger'])
      assert.deepEqual(compose.services[name]!.profiles, ['observability'], name);
    // promtool (scripts/promtool.sh; make test has it) checks what the structure above cannot. The rule files are
    // mounted at another path: alerts.promtool.test.ts checks them.
    const promtool = findPromtool();
    assert.ok(
      'path' in promtool,
      `make test needs promtool: ${'missing' in promtool ? promtool.missing : ''}`,
    );
    const check = spawnSync(
      promtool.path,
      ['check', 'config', '--syntax-only', join(OBS, 'prometheus.yml')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  it('every compose service that serves /metrics, and Prometheus itself, has a scrape job', () => {
    const endpoints = metricsEndpoints();
    // The derivation above found what this stack serves metrics from (so the check below can fail).
    assert.deepEqual([...endpoints.keys()].sort(), [
      'auth',
      'blackbox-exporter',
      'nginx-exporter',
      'prometheus',
      'resource',
      'resource-session',
    ]);
    const scraped = new Set(prometheus.scrape_configs.flatMap(scrapedAddresses));
    const unscraped = [...endpoints].filter(([, address]) => !scraped.has(address));
    assert.deepEqual(unscraped, [], 'services with metrics and no scrape job');
    const jobs = prometheus.scrape_configs.map((c) => c.job_name);
    assert.equal(new Set(jobs).size, jobs.length, 'job names are unique');
  });

  it('the gateway probe goes through the blackbox exporter, trusting only the stack CA mounted read-only', () => {
    const probe = prometheus.scrape_configs.find((c) => c.job_name === 'gateway-probe')!;
    assert.equal(probe.metrics_path, '/probe');
    const module = probe.params?.module?.[0] ?? '';
    assert.equal(blackbox.modules[module]?.prober, 'http');
    assert.deepEqual(probe.static_configs, [{ targets: ['https://gateway:8443/console/'] }]);
    // The standard relabelling: the URL becomes ?target= and the instance label; the exporter is scraped.
    assert.deepEqual(probe.relabel_configs, [
      { source_labels: ['__address__'], target_label: '__param_target' },
      { source_labels: ['__param_target'], target_label: 'instance' },
      { target_label: '__address__', replacement: 'blackbox-exporter:9115' },
    ]);
    const exporter = compose.services['blackbox-exporter']!;
    const caFile = blackbox.modules[module]?.http?.tls_config?.ca_file;
    assert.ok(exporter.volumes!.includes(`./certs/ca.crt:${caFile}:ro`), `the CA at ${caFile}`);
    const config = exporter.command!.find((arg) => arg.startsWith('--config.file='))!.split('=')[1];
    assert.ok(exporter.volumes!.includes(`./infra/observability/blackbox.yml:${config}:ro`));
    assert.ok(exporter.networks!.includes('edge'), 'a client of the gateway');
    assert.ok(compose.services.prometheus!.networks!.includes('edge'), 'Prometheus reaches the exporter');
  });

  it('Prometheus loads every rule file: the rules folder mounted read-only where rule_files looks', () => {
    assert.deepEqual(prometheus.rule_files, ['/etc/prometheus/rules/*.yml']);
    assert.ok(
      compose.services.prometheus!.volumes!.includes('./infra/observability/rules:/etc/prometheus/rules:ro'),
    );
  });

  it('every metric an alert queries is exposed by a service, an exporter or Prometheus, with the label values it matches', () => {
    const known = new Set([
      ...exposed,
      ...EXPORTER_METRICS,
      ...BLACKBOX_METRICS,
      ...GATEWAY_LOG_METRICS,
      ...PROMETHEUS_METRICS,
    ]);
    const rules = alertingRules();
    const queried = rules.flatMap((rule) =>
      promqlNames(rule.expr).metrics.map((name) => ({ name, alert: rule.alert })),
    );
    assert.deepEqual(
      queried.filter(({ name }) => !known.has(name)),
      [],
    );
    // An exact label match on a service's own metric names a value the service gives (job and instance are
    // Prometheus's). The services were exercised above: a login, a refresh reuse, a readiness check.
    const matchers = rules.flatMap((rule) =>
      [...rule.expr.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}/g)].flatMap(([, name, labels]) =>
        [...labels!.matchAll(/(\w+)="([^"]*)"/g)]
          .filter(([, label]) => label !== 'job' && label !== 'instance')
          .map(([, label, value]) => ({ alert: rule.alert, name: name!, label: label!, value: value! })),
      ),
    );
    const own = matchers.filter((m) => exposed.has(m.name));
    assert.ok(own.length >= 4, JSON.stringify(matchers));
    for (const m of own)
      assert.ok(
        exposition.some((line) => line.startsWith(`${m.name}{`) && line.includes(`${m.label}="${m.value}"`)),
        `${m.alert}: no ${m.name} series with ${m.label}="${m.value}"`,
      );
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
        promqlNames(target.expr).metrics.map((name) => ({ name, panel: panel.title })),
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
      promqlNames(
        'histogram_quantile(0.95, sum by (le, op) (rate(auth_bcrypt_duration_seconds_bucket{op="compare"}[1m])))',
      ).metrics,
      ['auth_bcrypt_duration_seconds_bucket'],
    );
    assert.deepEqual(promqlNames('sum(a_total) / clamp_min(sum(b_total) + sum(c_total), 1)').metrics, [
      'a_total',
      'b_total',
      'c_total',
    ]);
  });
});
