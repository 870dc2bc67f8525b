/**
 * `make env` (scripts/make-env.sh) and `make certs` (infra/certs/make-certs.sh) never leave an empty or short secret
 * behind: a value that cannot be made stops the script before anything is written, an existing secret file that is
 * empty or shorter than its required length is refused by name, and without openssl on PATH the scripts either make
 * the files in the tools container or, with no Docker engine to run it, stop with a message that says so.
 * Each case runs the real script on a copy of the files it reads, in a temporary folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pathWithout, suiteScope, testScope, useTempDir } from '@authstack/testing';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The required length of each secret file make env writes (hex of 24 bytes, of 16 bytes, base64 of 32 bytes). */
const REQUIRED: Record<string, number> = {
  postgres_password: 48,
  db_app_password: 48,
  redis_password: 48,
  key_encryption_key: 44,
  bootstrap_admin_password: 32,
  password_pepper: 44,
  grafana_admin_password: 32,
  redis_replication_password: 48,
  redis_sentinel_node_password: 48,
  redis_sentinel_password: 48,
  redis_auth_password: 48,
  redis_resource_password: 48,
};
const DERIVED: Record<string, string> = {
  database_owner_url: 'postgres_password',
  database_url: 'db_app_password',
  redis_url: 'redis_password',
  redis_auth_url: 'redis_auth_password',
  redis_resource_url: 'redis_resource_password',
  'redis.acl': 'redis_password',
  'redis_ha.acl': 'redis_sentinel_node_password',
};

/** A checkout holding only what the scripts read. */
function checkout(dir: string): string {
  const root = join(dir, 'checkout');
  for (const file of [
    'scripts/make-env.sh',
    'scripts/tools-container.sh',
    'scripts/test-image.sh',
    'infra/certs/make-certs.sh',
    'infra/redis/service-users.acl',
    '.env.example',
  ]) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    cpSync(join(ROOT, file), join(root, file));
  }
  return root;
}

function run(root: string, script: string, PATH = process.env.PATH, env: Record<string, string> = {}) {
  return spawnSync('bash', [join(root, script)], {
    cwd: root,
    env: { ...process.env, PATH, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

function secrets(root: string): Record<string, string> {
  const dir = join(root, 'secrets');
  if (!existsSync(dir)) return {};
  return Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
}

describe('make env with openssl on PATH', () => {
  const root = checkout(useTempDir(suiteScope(), 'authstack-make-env'));
  const first = run(root, 'scripts/make-env.sh');

  it('when it runs on a fresh checkout, then every secret file holds a value of its required length', () => {
    assert.equal(first.status, 0, first.stderr);
    const written = secrets(root);
    for (const [name, length] of Object.entries(REQUIRED)) {
      const value = written[name]?.split('\n')[0] ?? '';
      assert.equal(value.length, length, `secrets/${name}`);
    }
    for (const [name, source] of Object.entries(DERIVED)) {
      assert.ok(written[name]?.includes(written[source]!.trim()), `secrets/${name} holds secrets/${source}`);
    }
    assert.ok(existsSync(join(root, '.env')));
  });

  it('when it runs again, then nothing is rewritten', () => {
    const before = secrets(root);
    const again = run(root, 'scripts/make-env.sh');
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /wrote secrets/);
    assert.deepEqual(secrets(root), before);
  });
});

describe('make env keeps the Redis ACL files current', () => {
  it("when the key prefix or the users' rules change, then the ACL files are written again and no secret changes", (t) => {
    const root = checkout(useTempDir(testScope(t), 'authstack-make-env'));
    assert.equal(run(root, 'scripts/make-env.sh').status, 0);
    const before = secrets(root);
    assert.match(before['redis.acl']!, /%R~authstack:session:\*/);

    const prefixed = run(root, 'scripts/make-env.sh', process.env.PATH, { REDIS_KEY_PREFIX: 'other:' });
    assert.equal(prefixed.status, 0, prefixed.stderr);
    assert.match(prefixed.stdout, /wrote secrets\/redis\.acl again/);
    const after = secrets(root);
    for (const file of ['redis.acl', 'redis_ha.acl']) {
      assert.match(after[file]!, /%R~other:session:\*/, file);
      assert.doesNotMatch(after[file]!, /authstack:/, file);
    }
    for (const [name, value] of Object.entries(before)) {
      if (!name.endsWith('.acl')) assert.equal(after[name], value, `secrets/${name} unchanged`);
    }

    const rules = join(root, 'infra/redis/service-users.acl');
    writeFileSync(rules, readFileSync(rules, 'utf8').replace('+exists', '+exists +ttl'));
    const ruled = run(root, 'scripts/make-env.sh', process.env.PATH, { REDIS_KEY_PREFIX: 'other:' });
    assert.equal(ruled.status, 0, ruled.stderr);
    assert.match(secrets(root)['redis.acl']!, /\+ttl/);
  });

  it('when a user in the rules has no password file, then it stops naming the file', (t) => {
    const root = checkout(useTempDir(testScope(t), 'authstack-make-env'));
    const rules = join(root, 'infra/redis/service-users.acl');
    writeFileSync(rules, `${readFileSync(rules, 'utf8')}\nnewcomer resetkeys ~{prefix}new:* -@all +get\n`);
    const result = run(root, 'scripts/make-env.sh');
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /no secrets\/redis_newcomer_password for the Redis user newcomer/);
    assert.doesNotMatch(secrets(root)['redis.acl'] ?? '', /user newcomer on > /);
  });
});

describe('make env refuses a secret file it cannot trust', () => {
  for (const [name, content] of [
    ['redis_password', ''],
    ['postgres_password', '\n'],
    ['key_encryption_key', 'c2hvcnQ=\n'],
    ['bootstrap_admin_password', 'short\n'],
  ] as const) {
    it(`when secrets/${name} exists and holds ${JSON.stringify(content)}, then it stops and names the file`, (t) => {
      const root = checkout(useTempDir(testScope(t), 'authstack-make-env'));
      mkdirSync(join(root, 'secrets'));
      writeFileSync(join(root, 'secrets', name), content);
      const result = run(root, 'scripts/make-env.sh');
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, new RegExp(`secrets/${name} is empty or shorter than ${REQUIRED[name]}`));
      assert.equal(readFileSync(join(root, 'secrets', name), 'utf8'), content, 'left as it was');
    });
  }

  it('when a derived file does not hold its secret, then it stops and names the file', (t) => {
    const root = checkout(useTempDir(testScope(t), 'authstack-make-env'));
    assert.equal(run(root, 'scripts/make-env.sh').status, 0);
    writeFileSync(join(root, 'secrets', 'redis_url'), `redis://default:${'a'.repeat(48)}@redis:6379/0\n`);
    const result = run(root, 'scripts/make-env.sh');
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /secrets\/redis_url does not hold the value of secrets\/redis_password/);
  });
});

describe('make env when a value cannot be made', () => {
  it('when openssl fails, then it stops with the file it was making and writes no empty secret', (t) => {
    const dir = useTempDir(testScope(t), 'authstack-make-env');
    const root = checkout(dir);
    const PATH = pathWithout(dir, ['openssl'], { openssl: 'echo "openssl: broken" >&2; exit 1' });
    const result = run(root, 'scripts/make-env.sh', PATH);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /could not generate secrets\/postgres_password/);
    for (const [name, value] of Object.entries(secrets(root))) assert.ok(value.trim().length > 0, name);
    assert.deepEqual(Object.keys(secrets(root)), []);
  });

  it('when openssl is not on PATH and neither is docker, then it stops and says to install openssl or Docker', (t) => {
    const dir = useTempDir(testScope(t), 'authstack-make-env');
    const root = checkout(dir);
    const result = run(root, 'scripts/make-env.sh', pathWithout(dir, ['openssl', 'docker']));
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /openssl is not on PATH and neither is docker: install openssl, or Docker/);
    assert.deepEqual(secrets(root), {});
    assert.equal(existsSync(join(root, '.env')), false);
  });

  it('when openssl is not on PATH and no Docker engine answers, then it stops and says so', (t) => {
    const dir = useTempDir(testScope(t), 'authstack-make-env');
    const root = checkout(dir);
    const PATH = pathWithout(dir, ['openssl', 'docker'], {
      docker: 'echo "Cannot connect to the Docker daemon" >&2; exit 1',
    });
    const result = run(root, 'scripts/make-env.sh', PATH);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /openssl is not on PATH and no Docker engine answers/);
    assert.deepEqual(secrets(root), {});
  });
});

describe('make certs without openssl on PATH', () => {
  it('when no Docker engine answers, then it stops, says so and writes no key or certificate', (t) => {
    const dir = useTempDir(testScope(t), 'authstack-make-certs');
    const root = checkout(dir);
    const certs = join(dir, 'certs');
    const PATH = pathWithout(dir, ['openssl', 'docker'], { docker: 'exit 1' });
    const result = run(root, 'infra/certs/make-certs.sh', PATH, { CERTS_DIR: certs });
    assert.notEqual(result.status, 0);
    assert.match(
      result.stderr,
      /certs: openssl is not on PATH; making the certificates in the tools container/,
    );
    assert.match(result.stderr, /no Docker engine answers/);
    assert.deepEqual(readdirSync(certs), []);
    assert.equal(statSync(certs).isDirectory(), true);
  });
});
