/**
 * The observability profile in the container stage: Prometheus, the nginx exporter and the blackbox exporter from the
 * compose file (CI look-alikes where the upstream images cannot be pulled), started by `scripts/container-stage.sh`
 * after `make up` and the drills. Prometheus must scrape every target of its configuration (every auth, resource and
 * resource-session replica, both exporters, itself) with each one `up`, the gateway probe must succeed with the
 * certificate's expiry, every alert of infra/observability/rules must be loaded and evaluated without error, and the
 * login metrics of the scenarios must be there; `promtool check config` must pass on the shipped configuration (rule
 * files included). The loaded alerts and the targets are printed. Grafana is checked statically
 * (`infra/test/observability.config.test.ts`): no image of it can run here. Jaeger's traces: `traces.profile.test.ts`.
 *
 * Environment (set by the stage script): COMPOSE_PROJECT_NAME, PROMETHEUS_PORT (published on 127.0.0.1).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { alertingRules, ruleFiles } from '../test/alert-rules.ts';
import { containers } from './stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROMETHEUS = `http://127.0.0.1:${process.env.PROMETHEUS_PORT ?? 9090}`;
const run = promisify(execFile);

const compose = async (...args: string[]) =>
  (await run('docker', ['compose', '--profile', 'observability', ...args], { cwd: ROOT })).stdout;
const replicas = async (service: string) => (await containers(service)).length;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}
async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${PROMETHEUS}/api/v1/${path}`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { status: string; data: T };
  assert.equal(body.status, 'success');
  return body.data;
}
const query = async (promql: string) =>
  (await api<{ result: Sample[] }>(`query?query=${encodeURIComponent(promql)}`)).result;

interface Target {
  labels: { job: string; instance: string };
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}
interface LoadedRule {
  name: string;
  type: string;
  health: 'ok' | 'err' | 'unknown';
  state?: string;
  lastError?: string;
}

/** Polls until `check` passes or the deadline: Prometheus scrapes every 5 s and refreshes DNS every 10 s. */
async function eventually(what: string, check: () => Promise<boolean>, seconds = 90): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) assert.fail(`not within ${seconds} s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

describe('the observability profile', { concurrency: false }, () => {
  it('when promtool checks the shipped configuration, then it is valid', async () => {
    const out = await compose(
      'exec',
      '-T',
      'prometheus',
      'promtool',
      'check',
      'config',
      '/etc/prometheus/prometheus.yml',
    );
    assert.match(out, /SUCCESS/);
    for (const file of ruleFiles()) {
      const name = file.split('/').at(-1);
      assert.match(out, new RegExp(`/etc/prometheus/rules/${name}\\n\\s+SUCCESS`), `${name} checked`);
    }
  });

  it('when the blackbox exporter checks its configuration, then it is valid', async () => {
    await compose(
      'exec',
      '-T',
      'blackbox-exporter',
      '/bin/blackbox_exporter',
      '--config.check',
      '--config.file=/etc/blackbox_exporter/blackbox.yml',
    );
  });

  it('when Prometheus has scraped, then every target of its configuration is active and up (resource-session and the gateway probe included)', async () => {
    // Every job of the shipped configuration, with as many targets as it names: a service found by DNS has one per
    // replica, a static job one per address. A job added to prometheus.yml is expected here without editing this test.
    const config = parse(readFileSync(join(ROOT, 'infra/observability/prometheus.yml'), 'utf8')) as {
      scrape_configs: {
        job_name: string;
        dns_sd_configs?: { names: string[] }[];
        static_configs?: { targets: string[] }[];
      }[];
    };
    const expected: Record<string, number> = {};
    for (const job of config.scrape_configs) {
      let count = 0;
      for (const sd of job.dns_sd_configs ?? []) for (const name of sd.names) count += await replicas(name);
      for (const st of job.static_configs ?? []) count += st.targets.length;
      expected[job.job_name] = count;
    }
    for (const job of ['auth', 'resource', 'resource-session', 'nginx', 'gateway-probe', 'gateway-log'])
      assert.ok(expected[job]! >= 1, `prometheus.yml scrapes ${job}`);
    let targets: Target[] = [];
    const byJob = (job: string) => targets.filter((t) => t.labels.job === job);
    await eventually('every target active and up', async () => {
      targets = (await api<{ activeTargets: Target[] }>('targets?state=active')).activeTargets;
      return Object.entries(expected).every(
        ([job, count]) => byJob(job).length === count && byJob(job).every((t) => t.health === 'up'),
      );
    }).finally(() => {
      console.log('# Prometheus targets (/api/v1/targets):');
      for (const t of targets)
        console.log(
          `#   ${t.labels.job.padEnd(18)} ${t.health.padEnd(5)} ${t.scrapeUrl}${t.lastError ? ` (${t.lastError})` : ''}`,
        );
    });
    assert.deepEqual([...new Set(targets.map((t) => t.labels.job))].sort(), Object.keys(expected).sort());
  });

  it('when the blackbox exporter probes the gateway, then the probe succeeds over trusted TLS and gives the certificate expiry', async () => {
    await eventually('the gateway probe succeeded', async () => {
      const success = await query('probe_success{job="gateway-probe"}');
      return success.length === 1 && success[0]!.value[1] === '1';
    });
    const [left] = await query('probe_ssl_earliest_cert_expiry{job="gateway-probe"} - time()');
    const days = Number(left!.value[1]) / 86400;
    console.log(`# gateway certificate: ${days.toFixed(1)} days left (${left!.metric.instance})`);
    assert.ok(days > 14, 'the certificate make certs wrote is far from the CertificateExpiresSoon threshold');
  });

  it('when Prometheus has evaluated its rules, then every alert of the rule files is loaded and healthy', async () => {
    const expected = alertingRules().map((rule) => rule.alert);
    let loaded: LoadedRule[] = [];
    await eventually('every alert loaded and evaluated', async () => {
      const { groups } = await api<{ groups: { name: string; file: string; rules: LoadedRule[] }[] }>(
        'rules?type=alert',
      );
      loaded = groups.flatMap((group) => group.rules);
      return expected.every((name) => loaded.some((rule) => rule.name === name && rule.health === 'ok'));
    }).finally(() => {
      console.log('# Prometheus alerting rules (/api/v1/rules):');
      for (const rule of loaded)
        console.log(
          `#   ${rule.name.padEnd(24)} health=${rule.health} state=${rule.state}${rule.lastError ? ` (${rule.lastError})` : ''}`,
        );
    });
    assert.deepEqual(loaded.map((rule) => rule.name).sort(), [...expected].sort());
  });

  it("when the scenarios have run, then Prometheus holds auth's login metrics and the gateway's connections", async () => {
    await eventually('login metrics scraped', async () => {
      const logins = await query('sum(auth_login_total)');
      return logins.length === 1 && Number(logins[0]!.value[1]) > 0;
    });
    const outcomes = await query('sum by (outcome) (auth_login_total)');
    console.log(
      `# auth_login_total by outcome: ${outcomes.map((s) => `${s.metric.outcome}=${s.value[1]}`).join(', ')}`,
    );
    assert.ok(outcomes.some((s) => s.metric.outcome === 'success' && Number(s.value[1]) > 0));
    assert.ok((await query('auth_bcrypt_duration_seconds_count')).length > 0);
    assert.ok((await query('resource_token_verifications_total')).length > 0);
    await eventually(
      'nginx connection metrics',
      async () => (await query('nginx_connections_accepted')).length > 0,
    );
  });
});
