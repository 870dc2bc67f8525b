/**
 * The observability profile in the container stage: Prometheus and the nginx exporter from the compose file (CI
 * look-alikes where the upstream images cannot be pulled), started by `scripts/container-stage.sh` after `make up`
 * and the drills. Prometheus must find every auth and resource replica and the exporter `up`, and hold the login
 * metrics of the scenarios that ran; `promtool check config` must pass on the shipped configuration. Grafana is
 * checked statically (`infra/test/observability.config.test.ts`): no image of it can run here. Jaeger's traces:
 * `traces.profile.test.ts`.
 *
 * Environment (set by the stage script): COMPOSE_PROJECT_NAME, PROMETHEUS_PORT (published on 127.0.0.1).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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
async function query(promql: string): Promise<Sample[]> {
  const res = await fetch(`${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(promql)}`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { status: string; data: { result: Sample[] } };
  assert.equal(body.status, 'success');
  return body.data.result;
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
  });

  it('when Prometheus has scraped, then every auth and resource replica and the nginx exporter are up', async () => {
    const expected = { auth: await replicas('auth'), resource: await replicas('resource'), nginx: 1 };
    assert.ok(expected.auth >= 1 && expected.resource >= 1);
    await eventually('every target up', async () => {
      const up = await query('up');
      const byJob = (job: string) => up.filter((s) => s.metric.job === job);
      return (Object.entries(expected) as [string, number][]).every(
        ([job, count]) => byJob(job).length === count && byJob(job).every((s) => s.value[1] === '1'),
      );
    });
    const up = await query('up');
    console.log(
      `# targets up: ${up.map((s) => `${s.metric.job}@${s.metric.instance}=${s.value[1]}`).join(', ')}`,
    );
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
