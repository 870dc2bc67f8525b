/**
 * The container stage's drills, against the compose stack that `scripts/container-stage.sh` brought up with
 * `make up` (real images built from the project's Dockerfiles, the compose file unchanged). Each drill is one test:
 * secrets, network isolation, Redis authentication and each service's Redis user, the database role, published ports, the tutorial's paths, image
 * contents, scaling and failover, restarts of Redis and PostgreSQL, and auth down.
 *
 * Environment (set by the stage script): COMPOSE_PROJECT_NAME, GATEWAY_HTTPS_PORT (published on 127.0.0.1).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from 'undici';
import {
  api,
  BASE,
  compose,
  containers,
  dispatcher,
  docker,
  eventually,
  logsSince,
  nodeIn,
  PROJECT,
  ROOT,
} from './stack.ts';

let counter = 0;
const newUser = () => `drill${process.pid}x${(counter++).toString(36)}`;
const PASSWORD = 'correct horse battery staple drill';
async function userSession() {
  const username = newUser();
  assert.equal((await api('POST', '/auth/register', { username, password: PASSWORD })).status, 201);
  const login = await api('POST', '/auth/login', { username, password: PASSWORD });
  assert.equal(login.status, 200);
  return { username, token: login.body.access_token as string, refresh: login.body.refresh_token as string };
}

/** The secret values make env wrote: none may appear in an environment, a command line or an image. */
const secretValues = () =>
  readdirSync(join(ROOT, 'secrets')).flatMap((name) => {
    const value = readFileSync(join(ROOT, 'secrets', name), 'utf8').trim();
    // the files' own values, and the passwords inside the derived URLs and ACL
    return [value, ...[...value.matchAll(/:([0-9a-f]{32,})@|>([0-9a-f]{32,})/g)].map((m) => m[1] ?? m[2]!)];
  });

describe('container stack drills', { concurrency: false }, () => {
  it('when every container and image is inspected, then no secret value is in an environment, a command or a layer', async () => {
    const ids = (await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`))
      .split('\n')
      .filter(Boolean);
    assert.ok(ids.length >= 6, `expected the stack's containers, found ${ids.length}`);
    const inspected = await docker('inspect', ...ids);
    const images = await docker(
      'image',
      'inspect',
      'authstack/auth:local',
      'authstack/resource:local',
      'authstack/client:local',
    );
    const history = (
      await Promise.all(
        ['authstack/auth:local', 'authstack/resource:local', 'authstack/client:local'].map((image) =>
          docker('history', '--no-trunc', '--format', '{{.CreatedBy}}', image),
        ),
      )
    ).join('\n');
    const values = secretValues();
    assert.ok(values.length >= 9);
    for (const value of values) {
      assert.ok(!inspected.includes(value), 'a secret value is in docker inspect of a container');
      assert.ok(!images.includes(value), 'a secret value is in an image configuration');
      assert.ok(!history.includes(value), 'a secret value is in an image layer command');
    }
    assert.ok(inspected.includes('/run/secrets/'), 'the services read their secrets from files');
  });

  it('when the client container opens TCP connections to the backend, then Redis, PostgreSQL, auth and resource are unreachable', async () => {
    const backendIps = JSON.parse(
      await docker(
        'inspect',
        '-f',
        '{{json .NetworkSettings.Networks}}',
        ...(await containers('redis')),
        ...(await containers('postgres')),
        ...(await containers('auth')),
      ).then((out) => `[${out.trim().split('\n').join(',')}]`),
    ) as Record<string, { IPAddress: string }>[];
    const ips = backendIps.flatMap((networks) => Object.values(networks).map((n) => n.IPAddress));
    const targets = [
      'redis:6379',
      'postgres:5432',
      'auth:3001',
      'resource:3002',
      'resource-session:3002',
      ...ips.flatMap((ip) => [`${ip}:6379`, `${ip}:5432`, `${ip}:3001`]),
      'gateway:8443', // the control: the one address the client side may reach
    ];
    const script = `
      const net = require('node:net');
      const probe = (target) => new Promise((resolve) => {
        const [host, port] = target.split(':');
        const socket = net.connect({ host, port: Number(port), timeout: 3000 });
        const done = (result) => { socket.destroy(); resolve(target + ' ' + result); };
        socket.on('connect', () => done('open'));
        socket.on('timeout', () => done('closed'));
        socket.on('error', () => done('closed'));
      });
      Promise.all(${JSON.stringify(targets)}.map(probe)).then((r) => console.log(r.join('\\n')));`;
    const out = await compose('run', '--rm', '--no-deps', '--entrypoint', 'node', 'client', '-e', script);
    const results = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((line) => line.split(' ') as [string, string]),
    );
    assert.equal(results['gateway:8443'], 'open', 'control: the client reaches the gateway');
    for (const target of targets.slice(0, -1))
      assert.equal(results[target], 'closed', `${target} is reachable`);
  });

  it('when Redis is asked without a password, then it refuses (NOAUTH)', async () => {
    const [redis] = await containers('redis');
    const out = await docker('exec', redis!, 'redis-cli', 'ping');
    assert.match(out, /NOAUTH/);
  });

  it("when the session-mode resource's Redis user tries to write a session key, then Redis refuses (NOPERM); the stateless resource has no Redis login", async () => {
    const [session] = await containers('resource-session');
    // From inside the container, with the URL it is given: what anyone holding the resource's login could do.
    const out = await nodeIn(
      session!,
      `const { Redis } = require('ioredis');
       const url = require('node:fs').readFileSync(process.env.REDIS_URL_FILE, 'utf8').trim();
       const redis = new Redis(url, { maxRetriesPerRequest: 1 });
       const key = (process.env.REDIS_KEY_PREFIX || 'authstack:') + 'session:{drill}:forged';
       const outcome = (p) => p.then((v) => String(v), (e) => e.message.split(' ')[0]);
       (async () => {
         const result = {
           user: new URL(url).username,
           check: await outcome(redis.exists(key)),
           write: await outcome(redis.hset(key, 'fam', 'forged')),
           script: await outcome(redis.eval("return redis.call('HSET', KEYS[1], 'fam', 'forged')", 1, key)),
           limits: await outcome(redis.get((process.env.REDIS_KEY_PREFIX || 'authstack:') + 'rl:register-ip:x')),
         };
         console.log(JSON.stringify(result));
         redis.disconnect();
       })();`,
    );
    assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1)!), {
      user: 'resource',
      check: '0',
      write: 'NOPERM',
      script: 'NOPERM',
      limits: 'NOPERM',
    });
    const [stateless] = await containers('resource');
    const login = await nodeIn(stateless!, 'console.log(String(process.env.REDIS_URL_FILE ?? "none"))');
    assert.equal(login.trim(), 'none');
  });

  it("when the services' database role is inspected, then it is no superuser and cannot create a table", async () => {
    const [postgres] = await containers('postgres');
    const role = await docker(
      'exec',
      postgres!,
      'psql',
      '-U',
      'authstack',
      '-d',
      'authstack',
      '-tAc',
      "SELECT rolsuper::text || ',' || rolcreatedb::text || ',' || rolcreaterole::text FROM pg_roles WHERE rolname = 'authstack_app'",
    );
    assert.equal(role.trim(), 'false,false,false');
    const appUrl = readFileSync(join(ROOT, 'secrets/database_url'), 'utf8')
      .trim()
      .replace('@postgres:', '@127.0.0.1:');
    await assert.rejects(
      docker(
        'exec',
        postgres!,
        'psql',
        appUrl,
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        'CREATE TABLE intruder (id int)',
      ),
      /permission denied/,
    );
    const [auth] = await containers('auth');
    const env = await docker('inspect', '-f', '{{json .Config.Env}}', auth!);
    assert.ok(env.includes('DATABASE_URL_FILE=/run/secrets/database_url'), 'auth connects with the app role');
  });

  it('when the published ports are listed, then they bind 127.0.0.1 only', async () => {
    const [gateway] = await containers('gateway');
    const ports = (await docker('port', gateway!)).trim().split('\n');
    assert.ok(ports.length >= 2, ports.join());
    for (const line of ports) assert.match(line, /-> 127\.0\.0\.1:\d+$/, line);
    for (const service of ['auth', 'resource', 'postgres', 'redis']) {
      const [id] = await containers(service);
      assert.equal((await docker('port', id!)).trim(), '', `${service} publishes a port`);
    }
  });

  it("when the tutorial's short paths are used through the published port, then register, login, protected and admin answer", async () => {
    const username = newUser();
    assert.equal((await api('POST', '/register', { username, password: PASSWORD })).status, 201);
    // The tutorial's /login opens a cookie session and answers the account only; the cookie is the session.
    const login = await request(`${BASE}/login`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    assert.equal(login.statusCode, 200);
    const body = (await login.body.json()) as Record<string, unknown>;
    assert.equal(body.message, `Welcome ${username}!`);
    assert.equal(body.token, undefined, 'no token in a cookie login');
    const line = [login.headers['set-cookie'] ?? []].flat().find((l) => l.startsWith('__Host-session='));
    assert.ok(line, 'a session cookie was set');
    const withCookie = async (path: string) => {
      const res = await request(`${BASE}${path}`, { dispatcher, headers: { cookie: line.split(';')[0]! } });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    };
    const protectedPage = await withCookie('/protected');
    assert.equal(protectedPage.status, 200);
    assert.equal(protectedPage.body.message, `You are viewing protected content, ${username}!`);
    assert.equal((await withCookie('/admin')).status, 403);
    assert.equal((await api('GET', '/protected')).status, 401);
  });

  it('when the study console and the session-mode resource are used through the published port, then the page is served under its CSP and logout shows the revocation window', async () => {
    const page = await request(`${BASE}/console/`, { dispatcher });
    assert.equal(page.statusCode, 200);
    assert.match(String(await page.body.text()), /<script type="module" src="js\/main.js"><\/script>/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const script = await request(`${BASE}/console/js/main.js`, { dispatcher });
    assert.equal(script.statusCode, 200);
    await script.body.text();
    assert.equal((await api('GET', '/api-session/stats')).body.mode, 'session');
    assert.equal((await api('GET', '/api-session/metrics')).status, 404);
    const { token } = await userSession();
    assert.equal((await api('GET', '/api-session/protected', undefined, token)).status, 200);
    assert.equal((await api('POST', '/auth/logout', undefined, token)).status, 200);
    assert.equal((await api('GET', '/api/protected', undefined, token)).status, 200);
    const revoked = await api('GET', '/api-session/protected', undefined, token);
    assert.deepEqual([revoked.status, revoked.body.code], [401, 'session_revoked']);
  });

  it('when the production images are listed, then they carry no test code and run under tini', async () => {
    for (const service of ['auth', 'resource', 'client']) {
      const out = await docker(
        'run',
        '--rm',
        '--entrypoint',
        'sh',
        `authstack/${service}:local`,
        '-c',
        'ls -d packages/testing/src packages/*/test services/*/test e2e 2>/dev/null | wc -l; command -v tini',
      );
      const [count, tini] = out.trim().split('\n');
      assert.equal(count, '0', `${service} carries test code`);
      assert.match(tini ?? '', /tini$/);
    }
    // The auth process's own environment (set by its start script, not by compose): libuv's pool size.
    const [auth] = await containers('auth');
    const threads = await nodeIn(
      auth!,
      `const fs = require('node:fs');
       for (const pid of fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p))) {
         const cmd = fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8');
         if (!cmd.includes('services/auth/src/server.ts')) continue;
         const env = fs.readFileSync('/proc/' + pid + '/environ', 'utf8').split('\\0');
         console.log((env.find((e) => e.startsWith('UV_THREADPOOL_SIZE=')) ?? '=').split('=')[1]);
       }`,
    );
    assert.ok(Number(threads) >= 4, `UV_THREADPOOL_SIZE=${threads}`);
  });

  it('when the admin CLI runs in the client container, then it reaches the API through the gateway, and the OpenAPI documents and build info are served', async () => {
    const cli = (...args: string[]) => compose('run', '--rm', '-T', 'client', ...args);
    assert.match((await cli('--version')).trim(), /^\d+\.\d+\.\d+$/);
    const users = JSON.parse(await cli('--as-admin', '--json', 'users', 'list', '--all')) as {
      users: { username: string; roles: string[] }[];
    };
    assert.ok(
      users.users.some((u) => u.roles.includes('admin')),
      'the bootstrap admin is listed',
    );
    const exported = (await cli('--as-admin', 'accounts', 'export')).trimEnd().split('\n');
    assert.ok(exported.every((line) => /^\$(hmac-sha256\$)?2[ab]\$/.test(JSON.parse(line).password_hash)));
    for (const path of ['/auth/openapi.json', '/api/openapi.json']) {
      assert.equal((await api('GET', path)).body.openapi, '3.1.0', path);
    }
    const [auth] = await containers('auth');
    const health = JSON.parse(
      await nodeIn(auth!, "fetch('http://127.0.0.1:3001/healthz').then((r) => r.text()).then(console.log)"),
    ) as { service: string; version: string; commit: string };
    assert.equal(health.service, 'auth');
    assert.match(health.commit, /^([0-9a-f]{7,40}|unknown)$/);
  });

  it('when auth and resource run three replicas each, then the gateway spreads requests over all, and GETs survive one of each stopping', async () => {
    await compose('up', '-d', '--wait', '--scale', 'auth=3', '--scale', 'resource=3');
    // nginx resolves the service names when it starts: a restart picks up the new replicas.
    await compose('restart', 'gateway');
    await eventually(
      'the gateway answers again',
      async () => (await api('GET', '/api/public')).status === 200,
    );
    const session = await userSession();
    for (let i = 0; i < 60; i++) {
      assert.equal((await api('GET', '/api/protected', undefined, session.token)).status, 200);
      assert.equal((await api('GET', '/.well-known/jwks.json')).status, 200);
    }
    const servedBy = async (service: string, port: number, route: string) => {
      const counts: number[] = [];
      for (const id of await containers(service)) {
        const metrics = await nodeIn(
          id,
          `fetch('http://127.0.0.1:${port}/metrics').then((r) => r.text()).then(console.log)`,
        );
        const lines = metrics
          .split('\n')
          .filter(
            (l) => l.startsWith('http_request_duration_seconds_count') && l.includes(`route="${route}"`),
          );
        counts.push(lines.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0));
      }
      return counts;
    };
    const authCounts = await servedBy('auth', 3001, '/.well-known/jwks.json');
    const resourceCounts = await servedBy('resource', 3002, '/api/protected');
    console.log(
      `# requests per replica: auth jwks ${authCounts.join('/')}, resource protected ${resourceCounts.join('/')}`,
    );
    assert.equal(authCounts.length, 3);
    assert.equal(resourceCounts.length, 3);
    for (const count of [...authCounts, ...resourceCounts]) assert.ok(count > 0, 'a replica served nothing');

    const [oneAuth] = await containers('auth');
    const [oneResource] = await containers('resource');
    await docker('stop', oneAuth!, oneResource!);
    let failures = 0;
    for (let i = 0; i < 60; i++) {
      if ((await api('GET', '/api/protected', undefined, session.token)).status !== 200) failures++;
      if ((await api('GET', '/.well-known/jwks.json')).status !== 200) failures++;
    }
    console.log(`# with one auth and one resource replica stopped: ${failures} failed of 120 GETs`);
    assert.equal(failures, 0);
    await compose('up', '-d', '--wait', '--scale', 'auth=1', '--scale', 'resource=1');
    await compose('restart', 'gateway');
    await eventually(
      'the gateway answers after scaling back',
      async () => (await api('GET', '/api/public')).status === 200,
    );
  });

  it('when Redis restarts, then a refresh token issued before it still works (append-only file)', async () => {
    const session = await userSession();
    await compose('restart', 'redis');
    await eventually('refresh works again', async () => {
      const refreshed = await api('POST', '/auth/refresh', { refresh_token: session.refresh });
      if (refreshed.status === 503) return false;
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      return true;
    });
  });

  it('when PostgreSQL restarts, then auth turns unready, recovers by itself, and logins work again', async () => {
    const session = await userSession();
    const [auth] = await containers('auth');
    const ready = async () =>
      (
        await nodeIn(auth!, "fetch('http://127.0.0.1:3001/readyz').then((r) => console.log(r.status))")
      ).trim();
    await compose('stop', 'postgres');
    await eventually('auth readiness fails', async () => (await ready()) === '503');
    const during = await api('POST', '/auth/login', { username: session.username, password: PASSWORD });
    assert.equal(during.status, 503);
    await compose('start', 'postgres');
    await eventually('auth is ready again', async () => (await ready()) === '200');
    const after = await api('POST', '/auth/login', { username: session.username, password: PASSWORD });
    assert.equal(after.status, 200);
  });

  it("when a health check's child outlives it, then tini reaps it and PostgreSQL keeps its connections", async () => {
    // What a health check that runs out its time leaves behind: a child adopted by PID 1, here one that ends with
    // pg_isready's "no response" status. PostgreSQL as PID 1 would take it for a crashed backend and drop every
    // connection to recover (docs/operations.md, "Health checks and PID 1"); under tini (init: true) it is reaped.
    const session = await userSession();
    const [postgres] = await containers('postgres');
    assert.match(await docker('exec', postgres!, 'cat', '/proc/1/comm'), /^(docker-init|tini)\s*$/);
    const since = new Date().toISOString();
    await docker('exec', postgres!, 'sh', '-c', '(sleep 1; exit 2) & exit 0');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.doesNotMatch(
      await logsSince(postgres!, since),
      /terminating any other active server processes|terminated by signal|exited with exit code/,
    );
    const login = await api('POST', '/auth/login', { username: session.username, password: PASSWORD });
    assert.equal(login.status, 200);
  });

  it('when auth is stopped, then the resource keeps verifying tokens with its cached key set', async () => {
    const session = await userSession();
    await compose('stop', 'auth');
    try {
      for (let i = 0; i < 10; i++) {
        assert.equal((await api('GET', '/api/protected', undefined, session.token)).status, 200);
      }
      assert.equal(
        (await api('POST', '/auth/login', { username: session.username, password: PASSWORD })).status,
        503,
      );
    } finally {
      await compose('up', '-d', '--wait', 'auth');
    }
    await eventually(
      'login works again',
      async () =>
        (await api('POST', '/auth/login', { username: session.username, password: PASSWORD })).status === 200,
    );
  });
});
