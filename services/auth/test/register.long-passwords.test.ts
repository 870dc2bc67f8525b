/** Long passwords in any script, through a keyed pre-hash before bcrypt. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { http, useFixture, usePgClient } from '@authstack/testing';
import bcrypt from 'bcrypt';
import { loadConfig } from '../src/config.ts';
import { newKek, startAuthFixture, testEnv, username } from './support.ts';

describe('long passwords: HMAC-SHA-256 with a secret pepper before bcrypt', () => {
  const fx = useFixture(async (scope) => {
    const auth = await startAuthFixture(scope);
    return { auth, sql: await usePgClient(scope, auth.db.url) };
  });
  const register = (name: string, password: string) =>
    http(`${fx.auth.url}/auth/register`, { body: { username: name, password } });
  const login = (name: string, password: string) =>
    http(`${fx.auth.url}/auth/login`, { body: { username: name, password } });
  const storedHash = async (name: string) =>
    (await fx.sql.query('SELECT password_hash FROM users WHERE username = $1', [name])).rows[0]
      .password_hash as string;

  it('when a password has 66 Cyrillic characters (132 bytes), then it is accepted and logs in, and one differing after byte 72 does not', async () => {
    const name = username('cyr');
    const password = 'съешьжеещёэтихмягкихфранцузскихбулокдавыпейчаю'.padEnd(66, 'ж');
    assert.equal([...password].length, 66);
    assert.equal(Buffer.byteLength(password), 132);
    const registered = await register(name, password);
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    assert.equal((await login(name, password)).status, 200);
    const sameFirst72Bytes = `${password.slice(0, 36)}${'щ'.repeat(30)}`;
    const wrong = await login(name, sameFirst72Bytes);
    assert.equal(wrong.status, 401, 'nothing is truncated');
    assert.equal(wrong.body.code, 'invalid_credentials');
  });

  it('when a password has 64 characters of any script, then it registers and logs in', async () => {
    for (const stem of ['q', 'ж', '漢', 'अ', '🔑', 'ﷺ']) {
      const name = username('script');
      const password = `${stem.repeat(60)}${'wxyz'}`;
      assert.equal([...password].length, 64);
      assert.equal((await register(name, password)).status, 201, stem);
      assert.equal((await login(name, password)).status, 200, stem);
    }
  });

  it('when a password is registered, then the stored hash is bcrypt of the keyed pre-hash, useless without the pepper', async () => {
    const name = username('pepper');
    const password = 'a long passphrase that bcrypt alone would cut off somewhere after byte seventy-two';
    assert.equal((await register(name, password)).status, 201);
    const stored = await storedHash(name);
    assert.match(stored, /^\$hmac-sha256\$2b\$04\$/);
    const bcryptPart = stored.slice('$hmac-sha256'.length);
    const preHash = createHmac('sha256', Buffer.from(fx.auth.env.PASSWORD_PEPPER!, 'base64'))
      .update(password)
      .digest('base64');
    assert.ok(await bcrypt.compare(preHash, bcryptPart));
    assert.equal(await bcrypt.compare(password, bcryptPart), false, 'the password alone does not verify');
  });

  it('when a hash from before the pepper is stored, then it still logs in, and that login upgrades it', async () => {
    const name = username('legacy');
    const password = 'an old password of mine';
    await fx.sql.query('INSERT INTO users (username, password_hash) VALUES ($1, $2)', [
      name,
      await bcrypt.hash(password, 4),
    ]);
    assert.equal((await login(name, 'not the password')).status, 401);
    assert.match(await storedHash(name), /^\$2b\$/, 'a failed login changes nothing');
    assert.equal((await login(name, password)).status, 200);
    assert.match(await storedHash(name), /^\$hmac-sha256\$2b\$04\$/, 'upgraded at the successful login');
    assert.equal((await login(name, password)).status, 200);
    assert.equal((await login(name, `${password}!`)).status, 401);
  });

  it('when a legacy hash is stored, then a password longer than 72 bytes never matches its prefix', async () => {
    const name = username('legacy');
    const first72 = 'k'.repeat(72);
    await fx.sql.query('INSERT INTO users (username, password_hash) VALUES ($1, $2)', [
      name,
      await bcrypt.hash(first72, 4),
    ]);
    assert.equal((await login(name, `${first72}and more`)).status, 401);
    assert.equal((await login(name, first72)).status, 200);
  });

  it('when PASSWORD_PEPPER is missing, malformed or equal to KEY_ENCRYPTION_KEY, then start-up stops naming it; a _FILE works', () => {
    const env = testEnv(fx.auth.db);
    assert.throws(() => loadConfig({ ...env, PASSWORD_PEPPER: undefined }), /PASSWORD_PEPPER: required/);
    assert.throws(
      () => loadConfig({ ...env, PASSWORD_PEPPER: 'c2hvcnQ=' }),
      /PASSWORD_PEPPER: must be exactly 32 bytes/,
    );
    assert.throws(
      () => loadConfig({ ...env, PASSWORD_PEPPER: env.KEY_ENCRYPTION_KEY }),
      /PASSWORD_PEPPER: must differ from KEY_ENCRYPTION_KEY/,
    );
    const pepper = newKek();
    const file = join(tmpdir(), `authstack-pepper-${process.pid}-${Date.now()}`);
    writeFileSync(file, `${pepper}\n`, { mode: 0o600 });
    const config = loadConfig({ ...env, PASSWORD_PEPPER: undefined, PASSWORD_PEPPER_FILE: file });
    assert.equal(config.passwordPepper.toString('base64'), pepper);
  });
});
