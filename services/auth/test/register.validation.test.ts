import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import { STRONG_PASSWORD, useAuth, username } from './support.ts';

describe('POST /auth/register', () => {
  const auth = useAuth();
  const register = (body: unknown, headers?: Record<string, string>) =>
    http(`${auth.url}/auth/register`, { method: 'POST', body, ...(headers ? { headers } : {}) });

  it('when the input is valid, then 201 with the user and the role "user"', async () => {
    const name = username();
    const res = await register({ username: name, password: STRONG_PASSWORD });
    assert.equal(res.status, 201);
    assert.equal(res.body.status, 'success');
    const user = res.body.user as { id: string; username: string; roles: string[] };
    assert.match(user.id, /^[0-9a-f-]{36}$/);
    assert.equal(user.username, name);
    assert.deepEqual(user.roles, ['user']);
    assert.equal('password_hash' in user, false);
  });

  it('when the username differs only by case or full-width letters, then 409 username_taken', async () => {
    const stem = `alice${Date.now().toString(36)}`;
    assert.equal((await register({ username: stem, password: STRONG_PASSWORD })).status, 201);
    const fullWidth = [...stem].map((c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)).join('');
    for (const variant of [
      stem,
      stem.toUpperCase(),
      `${stem[0]!.toUpperCase()}${stem.slice(1)}`,
      fullWidth,
    ]) {
      const res = await register({ username: variant, password: STRONG_PASSWORD });
      assert.equal(res.status, 409, variant);
      assert.equal(res.body.code, 'username_taken');
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    }
  });

  const weak: [string, (name: string) => string, string][] = [
    ['common', () => 'password123', 'password_common'],
    ['short', () => 'abc1234', 'password_too_short'],
    ['257 characters (514 UTF-8 bytes)', () => 'é'.repeat(257), 'password_too_long'],
    ['257 characters outside the BMP (1,028 UTF-8 bytes)', () => '🔑'.repeat(257), 'password_too_long'],
    ['built around the username', (name) => `my-${name}-secret`, 'password_contains_username'],
  ];
  for (const [what, password, code] of weak) {
    it(`when the password is weak (${what}), then 400 ${code} with the reasons listed, and nothing is stored`, async () => {
      const name = username();
      const res = await register({ username: name, password: password(name) });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, code);
      const reasons = res.body.reasons as { code: string; message: string }[];
      assert.ok(reasons.some((reason) => reason.code === code));
      assert.equal(typeof res.body.detail, 'string');
      assert.equal(typeof res.body.request_id, 'string');
      // nothing was stored for that name
      assert.equal((await register({ username: name, password: STRONG_PASSWORD })).status, 201);
    });
  }

  for (const [script, password] of [
    ['Latin', 'ü'.repeat(256)],
    ['outside the BMP', '🔑'.repeat(256)],
  ]) {
    it(`when the password is 256 characters (${script}), then it is accepted`, async () => {
      const res = await register({ username: username(), password });
      assert.equal(res.status, 201);
    });
  }

  for (const bad of ['ab', 'a'.repeat(33), 'bob smith', 'bob@example.com', "' OR '1'='1", 'ǅemal😀']) {
    it(`when the username is ${JSON.stringify(bad)} (charset or length), then 400 invalid_username`, async () => {
      const res = await register({ username: bad, password: STRONG_PASSWORD });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'invalid_username');
    });
  }

  const wrongShapes: [string, unknown][] = [
    ['an empty object', {}],
    ['no password', { username: username() }],
    ['no username', { password: STRONG_PASSWORD }],
    ['a number as username', { username: 12345, password: STRONG_PASSWORD }],
    ['an array as username', { username: [username()], password: STRONG_PASSWORD }],
    ['null as username', { username: null, password: STRONG_PASSWORD }],
    ['an operator object as username', { username: { $ne: '' }, password: STRONG_PASSWORD }],
    ['a number as password', { username: username(), password: 12345678 }],
    ['a NUL in the password', { username: username(), password: `${STRONG_PASSWORD}\u0000` }],
    ['a NUL in the username', { username: `${username()}\u0000`, password: STRONG_PASSWORD }],
    ['an array', []],
  ];
  for (const [what, body] of wrongShapes) {
    it(`when the body has ${what}, then 400 invalid_input and never 500`, async () => {
      const res = await register(body);
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'invalid_input');
    });
  }

  // JSON that is not an object or array is refused by the strict body parser
  for (const raw of ['null', '42', '"text"']) {
    it(`when the body is the JSON ${raw}, then 400 malformed_json`, async () => {
      const res = await register(raw);
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'malformed_json');
    });
  }

  it('when the body is not JSON, broken JSON or too large, then 415, 400 or 413', async () => {
    const plain = await register('username=a&password=b', { 'content-type': 'text/plain' });
    assert.equal(plain.status, 415);
    assert.equal(plain.body.code, 'unsupported_media_type');
    const form = await register('username=a&password=b', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(form.status, 415);
    const broken = await register('{"username": "a", ', {});
    assert.equal(broken.status, 400);
    assert.equal(broken.body.code, 'malformed_json');
    const huge = await register(JSON.stringify({ username: 'x', password: 'y'.repeat(2 * 1024 * 1024) }));
    assert.equal(huge.status, 413);
    assert.equal(huge.body.code, 'payload_too_large');
  });

  it('when an error is answered, then the body carries no internals', async () => {
    const res = await register('{"username": ', {});
    assert.deepEqual(Object.keys(res.body).sort(), [
      'code',
      'detail',
      'request_id',
      'status',
      'title',
      'type',
    ]);
    assert.doesNotMatch(JSON.stringify(res.body), /\.ts:|SyntaxError|Unexpected token|node_modules/);
  });
});
