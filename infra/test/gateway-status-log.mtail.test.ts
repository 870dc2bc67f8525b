/**
 * The gateway's status log (GATEWAY_STATUS_LOG=on) and the gateway-log sidecar's mtail program: the real nginx with
 * the project's templates writes the log, Debian's mtail (`--one_shot`, the sidecar's program and flags) counts it.
 * Needs nginx and mtail on PATH (scripts/test-toolchain.sh; the test image has both). Then the compose wiring, which
 * the container stage runs for real (infra/container-test/gateway-log.profile.test.ts).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, suiteScope, useTempDir } from '@authstack/testing';
import { parse } from 'yaml';
import { startTestGateway, testCerts } from '../../e2e/support.ts';
import { freePort, type Gateway } from '../nginx/local-gateway.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROGRAM = join(ROOT, 'infra/observability/mtail/gateway.mtail');
const SECRET = 'never-in-the-status-log';
/** One line of log_format gateway_status, as the mtail program expects it. */
const LINE =
  /^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d status=\d{3} method=[A-Z]+ route=[a-z_]+ upstream_status="[^"]*" request_time=\d+\.\d{3}$/;

/** The sidecar's mtail over a finished log: its Prometheus text, one `name{labels} value` per sample. */
function mtailOneShot(log: string): Map<string, number> {
  const run = spawnSync(
    'mtail',
    [
      '--progs',
      PROGRAM,
      '--logs',
      log,
      '--one_shot',
      '--one_shot_format',
      'prometheus',
      '--emit_prog_label=false',
      '--logtostderr',
      '--address',
      '127.0.0.1',
      '--port',
      '0',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.ok(
    !run.error,
    `mtail could not run (Debian package mtail; scripts/test-toolchain.sh): ${run.error}`,
  );
  assert.equal(run.status, 0, run.stderr);
  const samples = new Map<string, number>();
  for (const line of run.stdout.split('\n')) {
    const match = /^([a-z_]+\{[^}]*\}) (\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

describe("the gateway's status log, counted by the gateway-log sidecar's mtail program", () => {
  const scope = suiteScope();
  let on: Gateway;
  let off: Gateway;
  let ca: Buffer;

  const call = (gateway: Gateway, method: string, path: string, body?: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${gateway.httpsUrl}${path}`,
        {
          method,
          ca,
          headers: {
            authorization: `Bearer ${SECRET}-header`,
            cookie: `__Host-other=${SECRET}-cookie`,
            'content-type': 'application/json',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const plainHttp = async (gateway: Gateway, path: string) =>
    (await fetch(`${gateway.httpUrl}${path}`, { redirect: 'manual' })).status;

  before(async () => {
    // Auth and the stateless resource: a stand-in answering 200. The session-mode resource: a port nobody listens on,
    // so the gateway answers 503 (its own problem page, after the connection is refused).
    const upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    scope.defer(() => {
      upstream.closeAllConnections();
      return new Promise((resolve) => upstream.close(resolve));
    });
    const address = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const down = `127.0.0.1:${await freePort()}`;
    const certs = testCerts(scope);
    ca = readFileSync(certs.ca);
    const settings = {
      authUpstream: address,
      resourceUpstream: address,
      resourceSessionUpstream: down,
      certs,
    };
    on = await startTestGateway(scope, { ...settings, statusLog: true });
    off = await startTestGateway(scope, settings);
  });

  it('when it is on, then each response is one compact line: status, route class, no path, query, header or body', async () => {
    assert.equal(await call(on, 'GET', `/api/protected?access_token=${SECRET}-query`), 200);
    assert.equal(await call(on, 'POST', '/auth/login', JSON.stringify({ password: `${SECRET}-body` })), 200);
    assert.equal(await call(on, 'POST', '/login', '{}'), 200);
    for (let i = 0; i < 3; i++) assert.equal(await call(on, 'GET', '/api-session/public'), 503);
    assert.equal(await call(on, 'GET', `/no/such/${SECRET}-path`), 404);
    assert.equal(await plainHttp(on, '/console/'), 301);

    const lines = await eventually(() => {
      const text = existsSync(on.statusLog) ? readFileSync(on.statusLog, 'utf8') : '';
      const lines = text.split('\n').filter(Boolean);
      return lines.length === 8 && lines;
    });
    for (const line of lines) assert.match(line, LINE);
    const text = lines.join('\n');
    assert.ok(!text.includes(SECRET), 'no path, query, header, cookie or body reaches the status log');
    assert.ok(!text.includes('/'), 'no path at all');
    const summary = lines.map((line) =>
      /status=(\d+) method=(\S+) route=(\S+)/.exec(line)!.slice(1).join(' '),
    );
    assert.deepEqual(summary, [
      '200 GET api',
      '200 POST login',
      '200 POST login', // the tutorial's /login
      '503 GET api_session',
      '503 GET api_session',
      '503 GET api_session',
      '404 GET other',
      '301 GET http',
    ]);
    assert.match(lines[0]!, /upstream_status="200"/);
    assert.match(lines[3]!, /upstream_status="502"/, 'the refused upstream, answered by the gateway as 503');
    assert.match(lines[6]!, /upstream_status="-"/, 'no upstream');
    // The JSON access log to stdout is unchanged: a line per request there too.
    assert.ok(readFileSync(on.accessLog, 'utf8').includes('"status":503'));
  });

  it("when mtail runs the sidecar's program over it, then it counts responses by status and route class", () => {
    const samples = mtailOneShot(on.statusLog);
    const count = (labels: string) => samples.get(`gateway_http_responses_total{${labels}}`);
    assert.equal(count('route="api_session",status="503"'), 3);
    assert.equal(count('route="api",status="200"'), 1);
    assert.equal(count('route="login",status="200"'), 2);
    assert.equal(count('route="other",status="404"'), 1);
    assert.equal(count('route="http",status="301"'), 1);
    const counted = [...samples]
      .filter(([key]) => key.startsWith('gateway_http_responses_total{'))
      .reduce((sum, [, value]) => sum + value, 0);
    assert.equal(counted, 8, 'every line counted once, no other series');
    // The duration histogram: every request observed in some bucket, sub-millisecond ones included.
    for (const route of ['api', 'login', 'api_session', 'other', 'http']) {
      const observed = samples.get(`gateway_http_request_duration_seconds_count{route="${route}"}`);
      assert.ok(observed && observed > 0, route);
      assert.equal(
        samples.get(`gateway_http_request_duration_seconds_bucket{route="${route}",le="+Inf"}`),
        observed,
        `${route}: +Inf bucket = count`,
      );
    }
  });

  it('when a line is not a status line (the JSON access log), then mtail counts nothing for it', () => {
    const samples = mtailOneShot(on.accessLog);
    assert.equal([...samples.keys()].filter((key) => key.startsWith('gateway_http')).length, 0);
  });

  it('when it is off (the default), then the gateway serves as before and writes no status line', async () => {
    assert.equal(await call(off, 'GET', '/api/protected'), 200);
    assert.equal(await call(off, 'GET', '/api-session/public'), 503);
    await eventually(() => readFileSync(off.accessLog, 'utf8').includes('"status":503'));
    assert.equal(existsSync(off.statusLog) ? readFileSync(off.statusLog, 'utf8') : '', '');
  });
});

interface Service {
  build?: { context: string };
  profiles?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  group_add?: string[];
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  networks?: string[];
  read_only?: boolean;
  cap_drop?: string[];
  cap_add?: string[];
}
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, { driver_opts?: { type: string; device: string; o: string } }>;
};
const observe = parse(read('docker-compose.observability.yml')) as { services: Record<string, Service> };

describe('the status log in the compose files', () => {
  const gateway = compose.services.gateway!;
  const sidecar = compose.services['gateway-log']!;
  const overlay = observe.services.gateway!;

  it('when the plain stack runs, then the status log is off and its file is /dev/null (no volume needed)', () => {
    assert.equal(gateway.environment!.GATEWAY_STATUS_LOG, 'off');
    assert.equal(gateway.environment!.GATEWAY_STATUS_LOG_PATH, '/dev/null');
    assert.ok(!JSON.stringify(gateway.volumes).includes('gateway-status-log'));
  });

  it('when the observability profile runs, then the gateway writes it into the volume the sidecar reads, through its group', () => {
    assert.equal(overlay.environment!.GATEWAY_STATUS_LOG, 'on');
    const path = overlay.environment!.GATEWAY_STATUS_LOG_PATH!;
    assert.equal(sidecar.environment!.GATEWAY_STATUS_LOG_PATH, path);
    const mount = (service: Service) =>
      service.volumes!.find((v) => v.startsWith('gateway-status-log:'))!.split(':')[1]!;
    assert.ok(path.startsWith(`${mount(overlay)}/`), 'the gateway writes inside the shared volume');
    assert.equal(mount(sidecar), mount(overlay));
    // The sidecar creates the file first (mode 0660, its group); the gateway appends as a member of that group, and
    // starts without the sidecar too (required: false).
    assert.deepEqual(overlay.depends_on, {
      'gateway-log': { condition: 'service_healthy', required: false },
    });
    const user = /^USER (\d+):(\d+)$/m.exec(read('infra/observability/mtail/Dockerfile'))!;
    assert.deepEqual(overlay.group_add, [user[2]]);
    const volume = compose.volumes['gateway-status-log']!.driver_opts!;
    assert.equal(volume.type, 'tmpfs');
    assert.match(volume.o, new RegExp(`(^|,)uid=${user[1]}(,|$)`));
    assert.match(volume.o, new RegExp(`(^|,)gid=${user[2]}(,|$)`));
    assert.match(volume.o, /(^|,)mode=0770(,|$)/);
    // Bounded: the sidecar empties the file well before the tmpfs is full.
    const size = Number(/(?:^|,)size=(\d+)m(?:,|$)/.exec(volume.o)![1]) * 1024 * 1024;
    assert.ok(Number(sidecar.environment!.GATEWAY_STATUS_LOG_MAX_BYTES) * 2 <= size);
  });

  it('when the sidecar runs, then it is hardened, on the backend network only, and Prometheus scrapes it', () => {
    assert.deepEqual(sidecar.profiles, ['observability']);
    assert.equal(sidecar.build!.context, 'infra/observability/mtail');
    assert.deepEqual(sidecar.networks, ['backend']);
    assert.equal(sidecar.read_only, true);
    assert.deepEqual(sidecar.cap_drop, ['ALL']);
    assert.equal(sidecar.cap_add, undefined);
    assert.match(read('infra/observability/mtail/Dockerfile'), /^USER 10001:10001$/m);
    assert.match(
      read('infra/observability/mtail/Dockerfile'),
      /^COPY gateway\.mtail \/etc\/mtail\/gateway\.mtail$/m,
    );
    assert.match(
      read('infra/observability/mtail/run.sh'),
      /^PROGRAM="\$\{MTAIL_PROGRAM:-\/etc\/mtail\/gateway\.mtail\}"$/m,
    );
    assert.match(read('infra/observability/mtail/run.sh'), /^PORT="\$\{MTAIL_PORT:-3903\}"$/m);
    const prometheus = parse(read('infra/observability/prometheus.yml')) as {
      scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[];
    };
    const job = prometheus.scrape_configs.find((c) => c.job_name === 'gateway-log');
    assert.deepEqual(job?.static_configs, [{ targets: ['gateway-log:3903'] }]);
  });
});

describe("the gateway-log sidecar's entry point (run.sh) keeps the file bounded", () => {
  const scope = suiteScope();
  const line = (status: number) =>
    `time=2026-01-01T00:00:00+00:00 status=${status} method=GET route=api upstream_status="${status}" request_time=0.004\n`;

  it('when the log passes its limit, then the file is emptied and the lines after it are counted', async () => {
    const dir = useTempDir(scope, 'gateway-log-');
    const log = join(dir, 'status.log');
    const port = await freePort();
    const max = 4096;
    const sidecar = spawn('sh', [join(ROOT, 'infra/observability/mtail/run.sh')], {
      env: {
        ...process.env,
        GATEWAY_STATUS_LOG_PATH: log,
        GATEWAY_STATUS_LOG_MAX_BYTES: String(max),
        GATEWAY_STATUS_LOG_CHECK_SECONDS: '0.2',
        MTAIL_PROGRAM: PROGRAM,
        MTAIL_ADDRESS: '127.0.0.1',
        MTAIL_PORT: String(port),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    sidecar.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const exited = new Promise<number | null>((resolve) => sidecar.once('exit', (code) => resolve(code)));
    scope.defer(async () => {
      if (sidecar.exitCode === null) sidecar.kill('SIGKILL');
      await exited;
    });
    const count = async (status: number) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const match = new RegExp(
        `^gateway_http_responses_total\\{route="api",status="${status}"\\} (\\d+)$`,
        'm',
      ).exec(text);
      return match ? Number(match[1]) : 0;
    };

    // The file exists (mode 0660) before anything writes: the gateway appends to it, it never creates it.
    await eventually(() => existsSync(log) && (statSync(log).mode & 0o777) === 0o660, 10_000);
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).ok, 10_000);
    const before = line(200).repeat(Math.ceil((max * 2) / line(200).length));
    appendFileSync(log, before);
    await eventually(
      () => /truncated .* bytes \(limit 4096\)/.test(stderr) && statSync(log).size < max,
      10_000,
    );
    const counted = await count(200);
    assert.ok(counted <= before.split('\n').length - 1, 'no line counted twice');

    // After the truncation the gateway's next lines land at the start of the empty file: every one is counted.
    appendFileSync(log, line(503).repeat(3));
    await eventually(async () => (await count(503)) === 3, 10_000);
    assert.equal(await count(200), counted);

    // SIGTERM (docker stop) ends mtail and the script, at once and cleanly.
    sidecar.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
