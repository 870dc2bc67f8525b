/**
 * The gateway's responses counted in the observability profile, for real: the gateway writes its status log
 * (docker-compose.observability.yml turns it on), the gateway-log sidecar's mtail counts it, Prometheus scrapes the
 * sidecar. Started by `scripts/container-stage.sh` (step 3b) with the overlay; a 503 is made by stopping the
 * session-mode resource for a moment, the gateway then answering 503 on /api-session/.
 *
 * Environment (set by the stage script): COMPOSE_PROJECT_NAME, GATEWAY_HTTPS_PORT, PROMETHEUS_PORT.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { api, compose, containers, docker, eventually } from './stack.ts';

const PROMETHEUS = `http://127.0.0.1:${process.env.PROMETHEUS_PORT ?? 9090}`;
const SECRET = 'stage-secret-never-logged';

/** The value of a PromQL expression that yields at most one sample (0 when none). */
async function value(promql: string): Promise<number> {
  const res = await fetch(`${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(promql)}`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
  return Number(body.data.result[0]?.value[1] ?? 0);
}
const responses = (status: number, route: string) =>
  value(`sum(gateway_http_responses_total{job="gateway-log",status="${status}",route="${route}"})`);

describe("the gateway's responses, counted from its status log", { concurrency: false }, () => {
  it('when requests pass through the gateway, then Prometheus holds gateway_http_responses_total by status and route', async () => {
    const [ok, missing] = [await responses(200, 'api'), await responses(404, 'other')];
    for (let i = 0; i < 5; i++)
      assert.equal((await api('GET', `/api/public?access_token=${SECRET}`)).status, 200);
    assert.equal((await api('GET', `/no/such/${SECRET}`)).status, 404);
    await eventually(
      'the responses counted',
      async () => (await responses(200, 'api')) >= ok + 5 && (await responses(404, 'other')) >= missing + 1,
      90,
    );
    assert.equal(await value('up{job="gateway-log"}'), 1);
  });

  it("when the session-mode resource is stopped, then the gateway's 503s are counted under its route", async () => {
    const before = await responses(503, 'api_session');
    await compose('stop', 'resource-session');
    try {
      for (let i = 0; i < 3; i++) {
        const reply = await api('GET', '/api-session/public');
        assert.equal(reply.status, 503, JSON.stringify(reply.body));
        assert.equal(reply.body.code, 'service_unavailable');
      }
    } finally {
      // Started again it may get another address on the backend network, and nginx resolves its upstreams when it
      // starts: the gateway (and the exporter in its network namespace) is recreated once the resource is healthy.
      await compose('start', 'resource-session');
      await compose('up', '-d', '--wait', 'resource-session');
      await compose('up', '-d', '--wait', '--force-recreate', '--no-deps', 'gateway', 'nginx-exporter');
    }
    await eventually('the 503s counted', async () => (await responses(503, 'api_session')) >= before + 3, 90);
    const by = await fetch(
      `${PROMETHEUS}/api/v1/query?query=${encodeURIComponent('sum by (status) (gateway_http_responses_total)')}`,
    );
    const samples = (
      (await by.json()) as { data: { result: { metric: { status: string }; value: string[] }[] } }
    ).data.result;
    console.log(
      `# gateway_http_responses_total by status: ${samples.map((s) => `${s.metric.status}=${s.value[1]}`).join(', ')}`,
    );
    await eventually(
      'the session-mode resource answers again',
      async () => (await api('GET', '/api-session/public')).status === 200,
      90,
    );
  });

  it('when the status log is read in the sidecar, then it holds no path, query or token, and is the file the sidecar made', async () => {
    const [sidecar] = await containers('gateway-log');
    assert.ok(sidecar, 'the gateway-log container runs');
    const text = await docker('exec', sidecar, 'cat', '/var/log/gateway/status.log');
    const lines = text.split('\n').filter(Boolean);
    assert.ok(lines.length > 0);
    for (const line of lines)
      assert.match(
        line,
        /^time=\S+ status=\d{3} method=[A-Z]+ route=[a-z_]+ upstream_status="[^"]*" request_time=\d+\.\d{3}$/,
      );
    assert.ok(!text.includes(SECRET) && !text.includes('/'), 'no path, query string or token');
    // Made by the sidecar before the gateway started (its uid and group, 0660); the gateway appends through the group.
    const owner = await docker('exec', sidecar, 'stat', '-c', '%a %u %g', '/var/log/gateway/status.log');
    assert.equal(owner.trim(), '660 10001 10001');
  });
});
