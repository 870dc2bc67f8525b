import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { eventually, http, type Scope, suiteScope, testScope, usePgClient } from '@authstack/testing';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import type pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { createAuthService } from '../src/service.ts';
import {
  migratedDatabase,
  newKek,
  registerAndLogin,
  startTestAuth,
  testEnv,
  useMigratedDatabase,
} from './support.ts';

const run = promisify(execFile);
const authDir = fileURLToPath(new URL('..', import.meta.url));

async function jwks(url: string): Promise<JSONWebKeySet> {
  return (await http<JSONWebKeySet>(`${url}/.well-known/jwks.json`)).body;
}

/** The rows of `sql` on the database at `dbUrl`, through a client ended when `scope` ends. */
async function query<T extends pg.QueryResultRow>(scope: Scope, dbUrl: string, sql: string): Promise<T[]> {
  return (await (await usePgClient(scope, dbUrl)).query<T>(sql)).rows;
}

describe('signing keys', () => {
  const scope = suiteScope();
  const fresh = () => migratedDatabase(scope);

  it('when two instances start together on an empty database, then exactly one key exists', async (t) => {
    const db = await fresh();
    const config = loadConfig(testEnv(db));
    const services = await Promise.all([
      createAuthService(config),
      createAuthService(config),
      createAuthService(config),
    ]);
    try {
      const rows = await query<{ kid: string }>(testScope(t), db.url, 'SELECT kid FROM signing_keys');
      assert.equal(rows.length, 1);
      const kids = services.map((service) => service.keyring.signingKey().kid);
      assert.deepEqual(kids, [rows[0]!.kid, rows[0]!.kid, rows[0]!.kid]);
    } finally {
      await Promise.all(services.map((service) => service.close()));
    }
  });

  it('when the service restarts, then tokens minted before still verify', async () => {
    const db = await fresh();
    const env = testEnv(db);
    const first = await startTestAuth(env);
    const { access_token } = await registerAndLogin(first.url);
    await first.stop();
    const second = await startTestAuth(env);
    try {
      await jwtVerify(access_token, createLocalJWKSet(await jwks(second.url)), {
        issuer: second.config.issuer,
        audience: second.config.audience,
        typ: 'at+jwt',
      });
      assert.equal((await http(`${second.url}/auth/me`, { token: access_token })).status, 200);
    } finally {
      await second.stop();
    }
  });

  it('when the private key is stored, then the column holds ciphertext, not a PEM or DER key', async (t) => {
    const db = await fresh();
    const auth = await startTestAuth(testEnv(db));
    await auth.stop();
    const [row] = await query<{ private_key_enc: Buffer; public_jwk: Record<string, unknown> }>(
      testScope(t),
      db.url,
      'SELECT private_key_enc, public_jwk FROM signing_keys',
    );
    const sealed = row!.private_key_enc;
    assert.equal(sealed.includes('PRIVATE KEY'), false);
    assert.throws(() => createPrivateKey({ key: sealed, format: 'der', type: 'pkcs8' }));
    assert.throws(() => createPrivateKey({ key: sealed.subarray(28), format: 'der', type: 'pkcs8' }));
    assert.equal('d' in row!.public_jwk, false);
  });

  it('when KEY_ENCRYPTION_KEY differs from the one the keys were stored with, then start-up stops with a clear message', async () => {
    const db = await fresh();
    const env = testEnv(db);
    await (await startTestAuth(env)).stop();
    await assert.rejects(
      startTestAuth({ ...env, KEY_ENCRYPTION_KEY: newKek() }),
      /KEY_ENCRYPTION_KEY cannot decrypt/,
    );
    const result = await run(process.execPath, ['src/server.ts'], {
      cwd: authDir,
      env: { ...process.env, ...env, KEY_ENCRYPTION_KEY: newKek() },
    }).catch((error: { code: number; stderr: string }) => error);
    assert.equal((result as { code: number }).code, 1);
    assert.match((result as { stderr: string }).stderr, /KEY_ENCRYPTION_KEY cannot decrypt signing key/);
  });

  it('when a key is staged, then it is published at once and signs only after the activation delay', async () => {
    const db = await fresh();
    const auth = await startTestAuth(testEnv(db, { KEY_ACTIVATION_DELAY: '2', JWKS_MAX_AGE: '1' }));
    try {
      const before = await registerAndLogin(auth.url);
      const oldKid = decodeProtectedHeader(before.access_token).kid;
      const staged = await auth.service.keyring.rotate();
      const published = (await jwks(auth.url)).keys.map((key) => key.kid);
      assert.deepEqual(published.sort(), [oldKid, staged.kid].sort());
      const during = await registerAndLogin(auth.url);
      assert.equal(
        decodeProtectedHeader(during.access_token).kid,
        oldKid,
        'the staged key must not sign yet',
      );
      await eventually(
        async () => {
          const later = await registerAndLogin(auth.url);
          return decodeProtectedHeader(later.access_token).kid === staged.kid;
        },
        6_000,
        250,
      );
      // tokens signed by the old key still verify: it stays published until they have expired
      const keySet = createLocalJWKSet(await jwks(auth.url));
      await jwtVerify(before.access_token, keySet, {
        issuer: auth.config.issuer,
        audience: auth.config.audience,
      });
      assert.equal((await http(`${auth.url}/auth/me`, { token: before.access_token })).status, 200);
    } finally {
      await auth.stop();
    }
  });

  it('when a retired key has outlived every token it signed, then it leaves the JWKS', async () => {
    const db = await fresh();
    let now = Date.now();
    const auth = await startTestAuth(testEnv(db, { KEY_ACTIVATION_DELAY: '600', ACCESS_TOKEN_TTL: '300' }), {
      now: () => now,
    });
    try {
      const oldKid = (await jwks(auth.url)).keys[0]!.kid;
      const staged = await auth.service.keyring.rotate();
      now += 600_000 + 1; // the new key signs
      assert.equal(auth.service.keyring.signingKey().kid, staged.kid);
      now += 300_000 + 59_000; // old tokens may still be alive (lifetime + leeway)
      assert.deepEqual((await jwks(auth.url)).keys.map((k) => k.kid).sort(), [oldKid, staged.kid].sort());
      now += 2_000;
      assert.deepEqual(
        (await jwks(auth.url)).keys.map((k) => k.kid),
        [staged.kid],
      );
    } finally {
      await auth.stop();
    }
  });

  it("when the rotation CLI runs, then a staged key appears in a running instance's JWKS", async (t) => {
    const db = await fresh();
    const env = testEnv(db, { KEY_RELOAD_INTERVAL: '1' });
    const auth = await startTestAuth(env);
    try {
      const { stdout } = await run(process.execPath, ['src/cli/rotate-key.ts'], {
        cwd: authDir,
        env: { ...process.env, ...env },
      });
      const kid = /staged signing key (\S+)/.exec(stdout)?.[1];
      assert.ok(kid, stdout);
      await eventually(async () => (await jwks(auth.url)).keys.some((key) => key.kid === kid), 5_000);
      const events = await query<{ type: string }>(
        testScope(t),
        db.url,
        "SELECT type FROM auth_events WHERE type = 'key_rotation'",
      );
      assert.equal(events.length, 1);
    } finally {
      await auth.stop();
    }
  });

  it('when ES256 is configured, then tokens are ES256 and verify against the JWKS', async () => {
    const db = await fresh();
    const auth = await startTestAuth(testEnv(db, { JWT_ALGORITHM: 'ES256' }));
    try {
      const { access_token } = await registerAndLogin(auth.url);
      assert.equal(decodeProtectedHeader(access_token).alg, 'ES256');
      const keySet = await jwks(auth.url);
      assert.equal(keySet.keys[0]!.crv, 'P-256');
      await jwtVerify(access_token, createLocalJWKSet(keySet), {
        algorithms: ['ES256'],
        issuer: auth.config.issuer,
        audience: auth.config.audience,
      });
    } finally {
      await auth.stop();
    }
  });
});

describe('start-up configuration', () => {
  const db = useMigratedDatabase();

  const start = (env: Record<string, string | undefined>) =>
    run(process.execPath, ['src/server.ts'], { cwd: authDir, env: { PATH: process.env.PATH, ...env } }).catch(
      (error: { code: number; stderr: string }) => error,
    ) as Promise<{ code: number; stderr: string }>;

  const invalid: [Record<string, string | undefined>, RegExp][] = [
    [{ KEY_ENCRYPTION_KEY: undefined }, /KEY_ENCRYPTION_KEY: required/],
    [{ KEY_ENCRYPTION_KEY: 'c2hvcnQ=' }, /KEY_ENCRYPTION_KEY: must be exactly 32 bytes/],
    [{ PORT: 'eighty' }, /PORT:/],
    [{ JWT_ALGORITHM: 'HS256' }, /JWT_ALGORITHM:/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL:/],
    [{ BCRYPT_COST: '3' }, /BCRYPT_COST:/],
    [
      { JWKS_MAX_AGE: '600', KEY_ACTIVATION_DELAY: '60' },
      /KEY_ACTIVATION_DELAY: must be at least JWKS_MAX_AGE/,
    ],
    [{ BOOTSTRAP_ADMIN_USERNAME: 'root' }, /BOOTSTRAP_ADMIN_PASSWORD:/],
    [
      { KEY_ENCRYPTION_KEY_FILE: '/nonexistent/kek', KEY_ENCRYPTION_KEY: undefined },
      /KEY_ENCRYPTION_KEY_FILE: cannot read/,
    ],
  ];
  for (const [variables, message] of invalid) {
    it(`when ${JSON.stringify(variables)} is given, then start-up stops naming it (${message.source})`, async () => {
      const result = await start({ ...testEnv(db), ...variables });
      assert.equal(result.code, 1, String(message));
      assert.match(result.stderr, message);
      assert.match(result.stderr, /configuration error/);
    });
  }

  it('when a bootstrap admin is configured, then it exists once with the admin role, and a weak password is refused', async (t) => {
    const env = testEnv(db, {
      BOOTSTRAP_ADMIN_USERNAME: 'Root.Admin',
      BOOTSTRAP_ADMIN_PASSWORD: 'a very long admin passphrase',
    });
    for (let i = 0; i < 2; i++) await (await startTestAuth(env)).stop(); // idempotent
    const rows = await query<{ username: string; roles: string[] }>(
      testScope(t),
      db.url,
      "SELECT username, roles FROM users WHERE username = 'root.admin'",
    );
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0]!.roles, ['user', 'admin']);
    const auth = await startTestAuth(env);
    try {
      const login = await http(`${auth.url}/auth/login`, {
        body: { username: 'root.admin', password: 'a very long admin passphrase' },
      });
      assert.equal(login.status, 200);
      assert.deepEqual((login.body.user as { roles: string[] }).roles, ['user', 'admin']);
    } finally {
      await auth.stop();
    }
    await assert.rejects(
      startTestAuth({ ...env, BOOTSTRAP_ADMIN_USERNAME: 'other', BOOTSTRAP_ADMIN_PASSWORD: 'password' }),
      /BOOTSTRAP_ADMIN_PASSWORD/,
    );
  });
});
