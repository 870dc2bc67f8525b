import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { http, testScope, usePgClient } from '@authstack/testing';
import bcrypt from 'bcrypt';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { registerAndLogin, STRONG_PASSWORD, startTestAuth, useAuth, username } from './support.ts';

describe('POST /auth/login and the tokens it issues', () => {
  const logLines: string[] = [];
  const auth = useAuth({ env: { ACCESS_TOKEN_TTL: '120' }, logTo: logLines });
  const login = (body: unknown) => http(`${auth.url}/auth/login`, { body });

  it('when the credentials are right, then 200 with the documented shape and no-store', async () => {
    const name = username();
    await http(`${auth.url}/auth/register`, { body: { username: name, password: STRONG_PASSWORD } });
    const res = await login({ username: name.toUpperCase(), password: STRONG_PASSWORD });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = res.body as Record<string, unknown>;
    assert.equal(body.status, 'success');
    assert.equal(body.message, `Welcome ${name}!`);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.token, body.access_token);
    assert.equal(body.expires_in, 120);
    assert.equal(body.refresh_expires_in, 7 * 86400);
    // base64url of 85 bytes: format, user id, session id, generation, family secret, 32 random bytes
    assert.match(body.refresh_token as string, /^[A-Za-z0-9_-]{114}$/);
    assert.deepEqual((body.user as { username: string; roles: string[] }).roles, ['user']);
  });

  it('when the access token is checked by an independent library against the served JWKS, then it verifies', async () => {
    const { access_token, user } = await registerAndLogin(auth.url);
    const jwks = await http<JSONWebKeySet>(`${auth.url}/.well-known/jwks.json`);
    assert.match(jwks.headers.get('cache-control') ?? '', /^public, max-age=\d+$/);
    const { payload, protectedHeader } = await jwtVerify(access_token, createLocalJWKSet(jwks.body), {
      algorithms: ['RS256'],
      typ: 'at+jwt',
      issuer: auth.config.issuer,
      audience: auth.config.audience,
      requiredClaims: ['exp', 'iat', 'sub', 'jti', 'sid'],
    });
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.ok(protectedHeader.kid);
    assert.equal(payload.exp! - payload.iat!, 120);
    assert.equal(payload.sub, user.id);
    assert.deepEqual(payload.roles, ['user']);
    assert.equal(typeof payload.username, 'string');
    assert.equal(typeof payload.client_id, 'string');
  });

  it('when discovery is asked, then it names the issuer, the JWKS and the algorithms', async () => {
    const res = await http(`${auth.url}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    assert.equal(res.body.issuer, auth.config.issuer);
    assert.equal(res.body.jwks_uri, `${auth.config.issuer}/.well-known/jwks.json`);
    assert.deepEqual(res.body.access_token_signing_alg_values_supported, ['RS256']);
  });

  it('when the user is unknown, the password wrong or the username an injection, then the same 401', async () => {
    const { username: name } = await registerAndLogin(auth.url);
    const answers = [
      await login({ username: name, password: 'wrong password entirely' }),
      await login({ username: `nobody${Date.now()}`, password: STRONG_PASSWORD }),
      await login({ username: "' OR '1'='1", password: "' OR '1'='1" }),
      await login({ username: name, password: `${STRONG_PASSWORD}${'x'.repeat(60)}` }), // > 72 bytes, never truncated
    ];
    const strip = (body: Record<string, unknown>) => ({ ...body, request_id: undefined });
    for (const answer of answers) {
      assert.equal(answer.status, 401);
      assert.equal(answer.body.code, 'invalid_credentials');
      assert.deepEqual(strip(answer.body), strip(answers[0]!.body));
      assert.equal(answer.headers.get('content-type'), answers[0]!.headers.get('content-type'));
    }
  });

  it('when every stored hash has the configured cost, then unknown users cost a comparison at that cost', () => {
    // Timing is equal by construction: the same bcrypt work for a known and an unknown user
    // (login.timing-equal.test.ts covers stored hashes of other costs).
    assert.equal(auth.service.useCases.passwords.targetCost(), auth.config.bcryptCost);
  });

  it('when a password matches the first 72 bytes of a longer one, then login still fails', async () => {
    const name = username();
    const password = `${'k'.repeat(40)}-${'z'.repeat(31)}`; // exactly 72 bytes
    assert.equal(
      (await http(`${auth.url}/auth/register`, { body: { username: name, password } })).status,
      201,
    );
    assert.equal((await login({ username: name, password })).status, 200);
    assert.equal((await login({ username: name, password: `${password}extra` })).status, 401);
  });

  it('when a stored hash has a lower cost than configured, then a successful login re-hashes it', async (t) => {
    const scope = testScope(t);
    const name = username();
    const sql = await usePgClient(scope, auth.db.url);
    await sql.query(`INSERT INTO users (username, password_hash) VALUES ($1, $2)`, [
      name,
      await bcrypt.hash(STRONG_PASSWORD, 4),
    ]);
    const cost5 = await startTestAuth({ ...auth.env, BCRYPT_COST: '5' }, {}, scope);
    assert.equal(
      (await http(`${cost5.url}/auth/login`, { body: { username: name, password: STRONG_PASSWORD } })).status,
      200,
    );
    const { rows } = await sql.query('SELECT password_hash FROM users WHERE username = $1', [name]);
    const stored = rows[0].password_hash as string;
    assert.ok(stored.startsWith('$hmac-sha256$2b$05$'), 'peppered, at the configured cost');
    const preHash = createHmac('sha256', Buffer.from(auth.env.PASSWORD_PEPPER!, 'base64'))
      .update(STRONG_PASSWORD)
      .digest('base64');
    assert.ok(await bcrypt.compare(preHash, stored.slice('$hmac-sha256'.length)));
  });

  it('when /auth/me is called with the access token, then the profile; without, then 401', async () => {
    const { access_token, username: name } = await registerAndLogin(auth.url);
    const me = await http(`${auth.url}/auth/me`, { token: access_token });
    assert.equal(me.status, 200);
    assert.equal(me.body.username, name);
    const anonymous = await http(`${auth.url}/auth/me`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'token_missing');
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer /);
    const tampered = await http(`${auth.url}/auth/me`, { token: `${access_token.slice(0, -4)}AAAA` });
    assert.equal(tampered.status, 401);
    assert.equal(tampered.body.code, 'signature_invalid');
    assert.match(tampered.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  it('when requests were logged, then no password, token or Authorization header is in the logs', async () => {
    const { access_token, refresh_token, password } = await registerAndLogin(auth.url);
    await http(`${auth.url}/auth/me`, { token: access_token });
    const logs = logLines.join('');
    assert.ok(logs.includes('/auth/login'), 'requests are logged');
    for (const secret of [password, access_token, access_token.split('.')[2]!, refresh_token, 'Bearer ']) {
      assert.equal(logs.includes(secret), false, `log leaked ${secret.slice(0, 12)}`);
    }
  });

  it('when logins happened, then /metrics counts them by outcome and times bcrypt', async () => {
    const { username: name } = await registerAndLogin(auth.url);
    await login({ username: name, password: 'not the password' });
    const text = await (await fetch(`${auth.url}/metrics`)).text();
    /** The sample of `name` carrying every label in `labels` (in any order), or undefined. */
    const sample = (name: string, labels: Record<string, string>) =>
      text
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`))
        .find((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)));
    const value = (line: string | undefined) => Number(line?.split(' ').at(-1) ?? 0);
    assert.ok(value(sample('auth_login_total', { outcome: 'success' })) >= 1);
    assert.ok(value(sample('auth_login_total', { outcome: 'invalid_credentials' })) >= 1);
    assert.ok(value(sample('auth_bcrypt_duration_seconds_count', { op: 'compare' })) >= 2);
    assert.ok(value(sample('auth_bcrypt_duration_seconds_count', { op: 'hash' })) >= 1);
    assert.ok(
      value(sample('http_request_duration_seconds_count', { route: '/auth/login', status: '200' })) >= 1,
    );
  });

  it('when requests carry an X-Request-Id, then it is echoed and used in problems', async () => {
    const res = await http(`${auth.url}/auth/login`, {
      body: { username: 'x' },
      headers: { 'x-request-id': 'gateway-req-12345678' },
    });
    assert.equal(res.headers.get('x-request-id'), 'gateway-req-12345678');
    assert.equal(res.body.request_id, 'gateway-req-12345678');
  });
});
