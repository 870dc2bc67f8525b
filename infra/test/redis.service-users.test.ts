/**
 * Each service's Redis user (infra/redis/service-users.acl): auth with the commands it uses on its own keys, the
 * session-mode resource with EXISTS on session keys and nothing else. On a Redis of this file's own (the shared test
 * Redis's users are left alone): auth's and the session-mode resource's key operations run under those users (login,
 * failed logins, refresh and reuse, the session list, cookie sessions and their exchange, password change, logout,
 * logout-all, an admin demotion, replica waits, readiness; the resource's session check through Sentinel) and Redis
 * logs no refusal, while everything else is refused: the resource cannot write a session, neither can write outside
 * its keys or run admin commands. Then `make env`'s ACL file, loaded by a Redis as compose and Kubernetes load it,
 * grants the same users with the URLs each service is given.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { STRONG_PASSWORD, type TestAuth, username } from '@authstack/auth/testing';
import { type Login, patchUser, startWithAdmin } from '@authstack/auth/testing/admin';
import { startTestResource, type TestResource } from '@authstack/resource/testing';
import { eventually, freePort, http, type JsonResponse, suiteScope, useTempDir } from '@authstack/testing';
import { type RedisGroup, startRedisGroup } from '@authstack/testing/redis-group';
import { Redis } from 'ioredis';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RULES_FILE = join(ROOT, 'infra/redis/service-users.acl');

/** `NAME RULES` lines of the rules file. */
const serviceUsers = () =>
  new Map(
    readFileSync(RULES_FILE, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => {
        const [name, ...rules] = line.trim().split(/\s+/);
        return [name!, rules] as const;
      }),
  );

const refused = async (work: Promise<unknown>) => {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  assert.ok(error, 'the command was refused');
  // NOPERM for a command; a script's own wording when the command is one the script calls
  assert.match(error.message, /NOPERM|user executing the script can't run this command/);
};

const COOKIE = '__Host-session';
const cookieOf = (res: JsonResponse<unknown>) =>
  res.headers
    .getSetCookie()
    .find((l) => l.startsWith(`${COOKIE}=`))
    ?.slice(COOKIE.length + 1)
    .split(';')[0];

describe("each service's Redis user, on a Redis of its own", () => {
  const scope = suiteScope();
  const prefix = `acl${process.pid}x${Date.now().toString(36)}:`;
  const passwords = { auth: `auth-${Date.now()}`, resource: `resource-${Date.now()}` };
  let group: RedisGroup;
  let admin: Redis;
  let auth: TestAuth;
  let boss: Login;
  let resource: TestResource;
  const as = (user: keyof typeof passwords) => {
    const client = new Redis({
      port: group.primary,
      host: '127.0.0.1',
      username: user,
      password: passwords[user],
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    }).on('error', () => {});
    scope.defer(async () => client.disconnect());
    return client;
  };

  before(async () => {
    group = await startRedisGroup({ replicas: 1, sentinels: 1 });
    scope.defer(() => group.stop());
    admin = group.node(group.primary);
    await admin.connect();
    scope.defer(async () => admin.disconnect());
    const users = serviceUsers();
    assert.deepEqual([...users.keys()].sort(), ['auth', 'resource']);
    for (const [name, rules] of users) {
      const password = passwords[name as keyof typeof passwords];
      await admin.call(
        'ACL',
        'SETUSER',
        name,
        'reset',
        'on',
        `>${password}`,
        ...rules.map((r) => r.replace('{prefix}', prefix)),
      );
    }
    await admin.call('ACL', 'LOG', 'RESET');

    const started = await startWithAdmin(scope, {
      env: {
        REDIS_URL: `redis://auth:${passwords.auth}@127.0.0.1:${group.primary}/0`,
        REDIS_CLUSTER_NODES: undefined,
        REDIS_KEY_PREFIX: prefix,
        REDIS_WAIT_REPLICAS: '1',
        REDIS_WAIT_TIMEOUT_MS: '2000',
      },
    });
    auth = started.auth;
    boss = started.admin;
    resource = await startTestResource(
      {
        JWT_ISSUER: auth.config.issuer,
        JWT_AUDIENCE: auth.config.audience,
        JWKS_URI: `${auth.url}/.well-known/jwks.json`,
        VERIFY_MODE: 'session',
        // Through the Sentinel, as the ha profile does: the URL gives the data node's user and password.
        REDIS_URL: `redis://resource:${passwords.resource}@127.0.0.1:1/0`,
        REDIS_SENTINELS: `127.0.0.1:${group.sentinels[0]}`,
        REDIS_SENTINEL_MASTER: group.master,
        REDIS_SENTINEL_PASSWORD: group.sentinelPassword,
        REDIS_CLUSTER_NODES: undefined,
        REDIS_KEY_PREFIX: prefix,
      },
      {},
      scope,
    );
  });

  it("when auth's and the session-mode resource's key operations run under their users, then each answers and Redis refuses nothing", async () => {
    const base = auth.url;
    const name = username('acl');
    assert.equal(
      (await http(`${base}/auth/register`, { body: { username: name, password: STRONG_PASSWORD } })).status,
      201,
    );
    const wrong = await http(`${base}/auth/login`, {
      body: { username: name, password: 'not the password' },
    });
    assert.equal(wrong.status, 401);
    const login = await http<Login>(`${base}/auth/login`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(login.status, 200);
    const second = await http<Login>(`${base}/auth/login`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(second.status, 200);

    // the session-mode resource: a live session, then a revoked one
    assert.equal((await http(`${resource.url}/readyz`)).status, 200);
    assert.equal(
      (await http(`${resource.url}/api/protected`, { token: login.body.access_token })).status,
      200,
    );

    const refreshed = await http<Login>(`${base}/auth/refresh`, {
      body: { refresh_token: login.body.refresh_token },
    });
    assert.equal(refreshed.status, 200);
    const reused = await http(`${base}/auth/refresh`, { body: { refresh_token: login.body.refresh_token } });
    assert.equal(reused.status, 401, 'reuse revokes the session');
    assert.equal((await http(`${base}/auth/me`, { token: second.body.access_token })).status, 200);
    const sessions = await http<{ sessions: { id: string; current: boolean }[] }>(`${base}/auth/sessions`, {
      token: second.body.access_token,
    });
    assert.equal(sessions.status, 200);

    const jar = await http(`${base}/auth/login?session=cookie`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    const cookie = cookieOf(jar);
    assert.ok(cookie);
    for (let i = 0; i < 2; i++) {
      // minted, then served from the cache
      const exchanged: JsonResponse = await http(`${base}/internal/session-token`, {
        headers: { cookie: `${COOKIE}=${cookie}` },
      });
      assert.equal(exchanged.status, 200);
    }

    const third = await http<Login>(`${base}/auth/login`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    const one = sessions.body.sessions.find((s) => !s.current);
    if (one) {
      assert.equal(
        (await http(`${base}/auth/sessions/${one.id}`, { method: 'DELETE', token: second.body.access_token }))
          .status,
        200,
      );
    }
    const changed = await http(`${base}/auth/password`, {
      method: 'POST',
      token: third.body.access_token,
      body: { current_password: STRONG_PASSWORD, new_password: `${STRONG_PASSWORD} again` },
    });
    assert.equal(changed.status, 200);
    assert.equal(
      (await http(`${base}/auth/logout`, { method: 'POST', token: third.body.access_token })).status,
      200,
    );
    const revoked = await http(`${resource.url}/api/protected`, { token: third.body.access_token });
    assert.equal(revoked.status, 401);
    assert.equal(revoked.body.code, 'session_revoked');

    const again = await http<Login>(`${base}/auth/login`, {
      body: { username: name, password: `${STRONG_PASSWORD} again` },
    });
    assert.equal(
      (await http(`${base}/auth/logout-all`, { method: 'POST', token: again.body.access_token })).status,
      200,
    );

    // an admin promotes, then demotes: the demotion ends the sessions and marks cookie sessions
    const target = await http<Login>(`${base}/auth/login`, {
      body: { username: name, password: `${STRONG_PASSWORD} again` },
    });
    assert.equal(
      (await patchUser(base, boss.access_token, target.body.user.id, { roles: ['user', 'admin'] })).status,
      200,
    );
    assert.equal(
      (await patchUser(base, boss.access_token, target.body.user.id, { roles: ['user'] })).status,
      200,
    );
    assert.equal((await http(`${base}/readyz`)).status, 200);

    assert.deepEqual(await admin.call('ACL', 'LOG'), [], 'Redis refused none of their commands');
    assert.ok(((await admin.call('DBSIZE')) as number) > 0, 'they wrote under their prefix');
  });

  it('when the resource user tries to write a session or read anything else, then Redis refuses (NOPERM)', async () => {
    const redis = as('resource');
    await redis.connect();
    assert.equal(await redis.exists(`${prefix}session:{u}:s`), 0, 'control: it may check a session');
    await refused(redis.hset(`${prefix}session:{u}:s`, 'fam', 'forged'));
    await refused(redis.set(`${prefix}session:{u}:s`, 'forged'));
    await refused(redis.del(`${prefix}session:{u}:s`));
    await refused(
      redis.eval("return redis.call('HSET', KEYS[1], 'fam', 'forged')", 1, `${prefix}session:{u}:s`),
    );
    await refused(redis.zadd(`${prefix}user-sessions:{u}`, 1, 's'));
    await refused(redis.exists(`${prefix}rl:login-ip:{127.0.0.1}`));
    await refused(redis.call('KEYS', '*'));
  });

  it('when the auth user reaches outside its prefix or for admin commands, then Redis refuses (NOPERM)', async () => {
    const redis = as('auth');
    await redis.connect();
    assert.equal(await redis.exists(`${prefix}session:{u}:s`), 0, 'control: its own keys');
    await refused(redis.exists('other:session:{u}:s'));
    await refused(redis.eval("return redis.call('KEYS', '*')", 0));
    for (const command of [
      ['FLUSHALL'],
      ['CONFIG', 'GET', '*'],
      ['KEYS', '*'],
      ['ACL', 'LIST'],
      ['SCRIPT', 'FLUSH'],
    ]) {
      await refused(redis.call(command[0]!, ...command.slice(1)));
    }
  });
});

describe("make env's Redis ACL file", () => {
  const scope = suiteScope();

  it('when a Redis loads it, then the URLs make env gives auth and the resource log in as their users, and the resource cannot write', async () => {
    // make env in a copy of the layout it reads: its script, the rules, .env.example
    const dir = { path: useTempDir(scope, 'authstack-make-env') };
    for (const file of ['scripts/make-env.sh', 'infra/redis/service-users.acl', '.env.example']) {
      mkdirSync(join(dir.path, file, '..'), { recursive: true });
      copyFileSync(join(ROOT, file), join(dir.path, file));
    }
    execFileSync('bash', [join(dir.path, 'scripts/make-env.sh')], { stdio: 'ignore' });
    const secret = (name: string) => readFileSync(join(dir.path, 'secrets', name), 'utf8').trim();
    for (const file of ['redis.acl', 'redis_ha.acl']) {
      const acl = secret(file);
      assert.match(acl, /^user default on >/m, file);
      assert.match(acl, /^user auth on >[0-9a-f]{48} resetkeys ~authstack:\* /m, file);
      assert.match(acl, /^user resource on >[0-9a-f]{48} resetkeys %R~authstack:session:\* /m, file);
      assert.doesNotMatch(acl, /\{prefix\}/, file);
    }

    const port = await freePort();
    const server = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--aclfile',
        join(dir.path, 'secrets/redis.acl'),
      ],
      { stdio: 'ignore' },
    );
    try {
      const connect = async (url: string) => {
        const client = new Redis(url.replace('@redis:6379', `@127.0.0.1:${port}`), {
          lazyConnect: true,
          maxRetriesPerRequest: 1,
          // each try below connects again itself; a client reconnecting on its own as well can outlive disconnect()
          retryStrategy: () => null,
        }).on('error', () => {});
        await eventually(async () => {
          if (client.status === 'wait' || client.status === 'end') await client.connect();
          return (await client.ping()) === 'PONG';
        });
        return client;
      };
      assert.match(secret('redis_auth_url'), /^redis:\/\/auth:[0-9a-f]{48}@redis:6379\/0$/);
      assert.match(secret('redis_resource_url'), /^redis:\/\/resource:[0-9a-f]{48}@redis:6379\/0$/);
      const auth = await connect(secret('redis_auth_url'));
      const resource = await connect(secret('redis_resource_url'));
      try {
        await auth.hset('authstack:session:{u}:s', 'fam', 'x');
        assert.equal(await resource.exists('authstack:session:{u}:s'), 1);
        await refused(resource.hset('authstack:session:{u}:s', 'fam', 'forged'));
      } finally {
        auth.disconnect();
        resource.disconnect();
      }
    } finally {
      server.kill('SIGKILL');
    }
  });
});
