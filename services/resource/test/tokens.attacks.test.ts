import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { http, suiteScope } from '@authstack/testing';
import {
  AUDIENCE,
  decodePart,
  forge,
  ISSUER,
  type JwksServer,
  jwksServer,
  mint,
  signRaw,
  type TestKey,
  testKey,
} from '@authstack/testing/tokens';
import jwt from 'jsonwebtoken';
import { startTestResource, type TestResource } from './support.ts';

describe('GET /api/protected refuses every malformed, forged or misdirected token with 401', () => {
  const scope = suiteScope();
  let key: TestKey;
  let jwks: JwksServer;
  let attackerHost: JwksServer;
  let resource: TestResource;

  const get = (authorization?: string, path = '/api/protected') =>
    http(`${resource.url}${path}`, authorization === undefined ? {} : { headers: { authorization } });

  before(async () => {
    key = testKey('RS256');
    jwks = await jwksServer([key.jwk], { scope });
    attackerHost = await jwksServer([], { scope });
    resource = await startTestResource(
      { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, JWKS_URI: jwks.jwksUri },
      {},
      scope,
    );
  });

  it("a valid token is accepted, with the tutorial's message, and the scheme is case-insensitive", async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await get(`${scheme} ${mint(key)}`);
      assert.equal(res.status, 200, scheme);
      assert.equal(res.body.message, 'You are viewing protected content, alice!');
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
  });

  const now = () => Math.floor(Date.now() / 1000);
  const valid = () => decodePart(mint(key), 1);
  const header = (extra: Record<string, unknown> = {}) => ({
    alg: 'RS256',
    typ: 'at+jwt',
    kid: key.kid,
    ...extra,
  });
  const pem = () => key.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const hs256 = (secret: string) =>
    jwt.sign(valid(), secret, {
      algorithm: 'HS256',
      header: { alg: 'HS256', typ: 'at+jwt', kid: key.kid } as jwt.JwtHeader,
    });

  const cases: [string, () => string | undefined, string][] = [
    ['no Authorization header', () => undefined, 'token_missing'],
    ['Basic credentials', () => 'Basic YWxpY2U6c2VjcmV0', 'token_missing'],
    ['"Bearer" alone', () => 'Bearer', 'token_malformed'],
    ['"Bearer " with spaces only', () => 'Bearer    ', 'token_malformed'],
    ['two credentials', () => `Bearer ${mint(key)} ${mint(key)}`, 'token_malformed'],
    [
      'two Bearer credentials, comma separated',
      () => `Bearer ${mint(key)}, Bearer ${mint(key)}`,
      'token_malformed',
    ],
    ['garbage', () => 'Bearer not-a-jwt', 'token_malformed'],
    ['alg none', () => `Bearer ${forge(header({ alg: 'none' }), valid())}`, 'algorithm_not_allowed'],
    ['alg None', () => `Bearer ${forge(header({ alg: 'None' }), valid())}`, 'algorithm_not_allowed'],
    ['alg NONE', () => `Bearer ${forge(header({ alg: 'NONE' }), valid())}`, 'algorithm_not_allowed'],
    [
      'HS256 with the RSA public key (PEM) as secret',
      () => `Bearer ${hs256(pem())}`,
      'algorithm_not_allowed',
    ],
    [
      'HS256 with the RSA public key (JWK) as secret',
      () => `Bearer ${hs256(JSON.stringify(key.jwk))}`,
      'algorithm_not_allowed',
    ],
    [
      'payload edited (roles -> admin) under the old signature',
      () => {
        const [h, , s] = mint(key).split('.');
        const edited = Buffer.from(JSON.stringify({ ...valid(), roles: ['admin'] })).toString('base64url');
        return `Bearer ${h}.${edited}.${s}`;
      },
      'signature_invalid',
    ],
    [
      'signature stripped',
      () => `Bearer ${mint(key).split('.').slice(0, 2).join('.')}.`,
      'signature_invalid',
    ],
    ['unknown kid', () => `Bearer ${mint({ ...testKey(), kid: 'no-such-key' })}`, 'key_unknown'],
    ['kid ../../dev/null', () => `Bearer ${mint(key, { header: { kid: '../../dev/null' } })}`, 'key_unknown'],
    [
      'kid with SQL',
      () => `Bearer ${mint(key, { header: { kid: "x' UNION SELECT 'secret' --" } })}`,
      'key_unknown',
    ],
    ['kid of 10 KB', () => `Bearer ${mint(key, { header: { kid: 'k'.repeat(10_240) } })}`, 'token_malformed'],
    [
      'crit naming an extension (signed with the right key)',
      () => `Bearer ${mint(key, { header: { crit: ['urn:example:must-understand'] } })}`,
      'token_malformed',
    ],
    [
      'crit b64 false (RFC 7797: the signature is over the raw payload)',
      () => `Bearer ${mint(key, { header: { crit: ['b64'], b64: false } })}`,
      'token_malformed',
    ],
    ['crit empty', () => `Bearer ${mint(key, { header: { crit: [] } })}`, 'token_malformed'],
    ['typ missing', () => `Bearer ${mint(key, { header: { typ: undefined } })}`, 'type_invalid'],
    ['typ JWT', () => `Bearer ${mint(key, { header: { typ: 'JWT' } })}`, 'type_invalid'],
    ['wrong iss', () => `Bearer ${mint(key, { claims: { iss: 'https://evil.test' } })}`, 'issuer_invalid'],
    ['wrong aud', () => `Bearer ${mint(key, { claims: { aud: 'another-api' } })}`, 'audience_invalid'],
    [
      'aud array without ours',
      () => `Bearer ${mint(key, { claims: { aud: ['a', 'b'] } })}`,
      'audience_invalid',
    ],
    [
      'exp at now - (leeway + 1 s)',
      () => `Bearer ${mint(key, { claims: { iat: now() - 60, exp: now() - 11 } })}`,
      'token_expired',
    ],
    [
      'nbf in the future',
      () => `Bearer ${mint(key, { claims: { nbf: now() + 120 } })}`,
      'token_not_yet_valid',
    ],
    ['exp missing', () => `Bearer ${mint(key, { omit: ['exp'] })}`, 'claims_invalid'],
    [
      'exp a string',
      () => `Bearer ${signRaw(key, header(), { ...valid(), exp: String(now() + 300) })}`,
      'claims_invalid',
    ],
    [
      'a refresh token sent as Bearer',
      () => 'Bearer v9SXhi8GsdCPWbOmFH5mxdVYvy7f0uzVyY98lDhwS3I',
      'token_malformed',
    ],
  ];

  for (const [name, authorization, code] of cases) {
    it(`${name} -> 401 ${code}`, async () => {
      const res = await get(authorization());
      assert.equal(res.status, 401);
      assert.equal(res.body.code, code);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      const challenge = res.headers.get('www-authenticate') ?? '';
      assert.match(challenge, /^Bearer realm="authstack"/);
      if (code === 'token_missing') assert.doesNotMatch(challenge, /error=/);
      else assert.match(challenge, /error="invalid_token"/);
    });
  }

  // Half the 10 s leeway in the past: whole-second claims and a busy machine can eat a second or two between the
  // token's minting and its check, so a margin of 1 s would fail at random.
  it('exp at now - (leeway / 2) is still accepted', async () => {
    const res = await get(`Bearer ${mint(key, { claims: { iat: now() - 60, exp: now() - 5 } })}`);
    assert.equal(res.status, 200);
  });

  it('jku, x5u and jwk headers are never followed: the host they name sees no request', async () => {
    const attacker = testKey('RS256');
    const before = jwks.total();
    const headers = [
      { kid: attacker.kid, jku: `${attackerHost.url}/jwks.json` },
      { kid: attacker.kid, x5u: `${attackerHost.url}/cert.pem` },
      { kid: key.kid, jwk: attacker.jwk },
      { kid: key.kid, jku: `${attackerHost.url}/jwks.json` },
    ];
    for (const extra of headers) {
      const res = await get(`Bearer ${mint({ ...attacker, kid: extra.kid }, { header: extra })}`);
      assert.equal(res.status, 401);
      assert.ok(
        ['key_unknown', 'signature_invalid'].includes(res.body.code as string),
        String(res.body.code),
      );
    }
    assert.equal(attackerHost.total(), 0);
    assert.ok(jwks.total() - before <= 1, 'at most one refetch of our own JWKS');
  });

  it('a token in the query string is ignored', async () => {
    const res = await http(`${resource.url}/api/protected?access_token=${mint(key)}`);
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'token_missing');
  });

  it('when only ES256 is allowed, then an RS256 token is refused', async () => {
    const es = testKey('ES256');
    const esJwks = await jwksServer([es.jwk, key.jwk]);
    const esOnly = await startTestResource({
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWKS_URI: esJwks.jwksUri,
      JWT_ALGORITHMS: 'ES256',
    });
    try {
      const rs = await http(`${esOnly.url}/api/protected`, { token: mint(key) });
      assert.equal(rs.status, 401);
      assert.equal(rs.body.code, 'algorithm_not_allowed');
      assert.equal((await http(`${esOnly.url}/api/protected`, { token: mint(es) })).status, 200);
    } finally {
      await esOnly.stop();
      await esJwks.close();
    }
  });

  it('a user token on the admin route -> 403 insufficient_scope; an admin token -> 200', async () => {
    const user = await get(`Bearer ${mint(key)}`, '/api/admin');
    assert.equal(user.status, 403);
    assert.equal(user.body.code, 'insufficient_scope');
    assert.match(user.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    const admin = await get(
      `Bearer ${mint(key, { claims: { roles: ['user', 'admin'], username: 'root' } })}`,
      '/api/admin',
    );
    assert.equal(admin.status, 200);
    assert.equal(admin.body.message, 'Welcome to the admin panel, root!');
    assert.equal(admin.headers.get('cache-control'), 'no-store', "the holder's own answer: never stored");
  });

  it('the public route needs no token and whoami returns the verified claims', async () => {
    assert.equal((await get(undefined, '/api/public')).status, 200);
    const token = mint(key);
    const whoami = await get(`Bearer ${token}`, '/api/whoami');
    assert.equal(whoami.status, 200);
    assert.equal((whoami.body.claims as { jti: string }).jti, decodePart(token, 1).jti);
    assert.equal(whoami.headers.get('cache-control'), 'no-store');
  });
});
