/**
 * The resource service against its OpenAPI document: every route and the errors a client (or a missing key set)
 * can cause, each real response validated with ajv; the app's routes and the verifier's (status, code) pairs must
 * all be in the document, and every operation is walked.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resourceDocument } from '@authstack/contract/openapi';
import { http, suiteScope } from '@authstack/testing';
import {
  contractChecker,
  documented,
  expressRoutes,
  type OpenApiDocument,
  problemCodesIn,
} from '@authstack/testing/openapi';
import {
  AUDIENCE,
  ISSUER,
  type JwksServer,
  jwksServer,
  mint,
  type TestKey,
  testKey,
} from '@authstack/testing/tokens';
import { startTestResource, type TestResource } from './support.ts';

const source = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
/** The resource's problems: the verifier's, the study console's endpoints', the shared body and tail ones. */
const CATALOGUES = [
  { path: source('packages/verifier/src/errors.ts'), unionStatus: 401 },
  { path: source('services/resource/src/routes/study.ts') },
  { path: source('packages/http-problem/src/index.ts') },
];
const EVERY_SERVICE = new Map([
  ['not_found', 404],
  ['internal_error', 500],
]);

describe('resource and its OpenAPI document', () => {
  const scope = suiteScope();
  let key: TestKey;
  let jwks: JwksServer;
  let resource: TestResource;
  let keyless: TestResource;
  /** EXPLAIN_RATE_LIMIT=1: the second explanation in a minute is refused. */
  let limited: TestResource;
  const doc = resourceDocument() as unknown as OpenApiDocument;
  const checker = contractChecker(doc);

  before(async () => {
    key = testKey('RS256');
    jwks = await jwksServer([key.jwk], { scope });
    const env = { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };
    resource = await startTestResource({ ...env, JWKS_URI: jwks.jwksUri }, {}, scope);
    // A key set that cannot be fetched: nothing listens on port 9 of the loopback.
    keyless = await startTestResource({ ...env, JWKS_URI: 'http://127.0.0.1:9/jwks.json' }, {}, scope);
    limited = await startTestResource({ ...env, JWKS_URI: jwks.jwksUri, EXPLAIN_RATE_LIMIT: '1' }, {}, scope);
  });

  async function call(path: string, token?: string, on = resource) {
    const res = await http(`${on.url}${path}`, token ? { token } : {});
    checker.check({ method: 'GET', path, status: res.status, headers: res.headers, body: res.body });
    return res;
  }

  async function explain(body: unknown, headers: Record<string, string> = {}, on = resource) {
    const res = await http<{
      explanation: { valid: boolean; code?: string };
      code?: string;
      errors?: { field: string }[];
    }>(`${on.url}/api/explain`, {
      body,
      headers,
    });
    checker.check({
      method: 'POST',
      path: '/api/explain',
      status: res.status,
      headers: res.headers,
      body: res.body,
    });
    return res;
  }

  it('when every route and error is walked, then each response matches the document', async () => {
    const served = await call('/api/openapi.json');
    assert.deepEqual(
      served.body,
      JSON.parse(JSON.stringify(resourceDocument(resource.service.build.version))),
    );
    for (const path of ['/healthz', '/readyz', '/metrics', '/api/public'])
      assert.equal((await call(path)).status, 200);
    const user = mint(key);
    const admin = mint(key, { claims: { roles: ['user', 'admin'] } });
    assert.equal((await call('/api/protected', user)).status, 200);
    assert.equal((await call('/api/whoami', user)).status, 200);
    assert.equal((await call('/api/admin', admin)).status, 200);
    assert.equal((await call('/api/admin', user)).body.code, 'insufficient_scope');
    assert.equal((await call('/api/protected')).body.code, 'token_missing');
    assert.equal((await call('/api/protected', 'not.a.jwt')).body.code, 'token_malformed');
    assert.equal((await call('/api/whoami', mint(key, { ttlSec: -60 }))).body.code, 'token_expired');
    assert.equal((await call('/api/admin', mint(testKey('RS256')))).body.code, 'key_unknown');
    assert.equal((await call('/api/protected', user, keyless)).body.code, 'keys_unavailable');

    // --- the study console's endpoints
    const good = await explain({ token: user });
    assert.deepEqual([good.status, good.body.explanation.valid], [200, true]);
    const later = await explain({ token: user, at: 4_000_000_000, audience: 'another-api' });
    assert.deepEqual(
      [later.status, later.body.explanation.valid, later.body.explanation.code],
      [200, false, 'audience_invalid'],
    );
    assert.equal((await explain({ token: 'not.a.jwt' })).body.explanation.code, 'token_malformed');
    const refusals: [unknown, Record<string, string>, number, string][] = [
      [{}, {}, 400, 'invalid_input'],
      [{ token: user, extra: 1 }, {}, 400, 'invalid_input'],
      ['{"token":', {}, 400, 'malformed_json'],
      [{ token: 'x'.repeat(20_000) }, {}, 413, 'payload_too_large'],
      ['token=x', { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
      ['{}', { 'content-encoding': 'compress' }, 415, 'unsupported_encoding'],
    ];
    for (const [body, headers, status, code] of refusals) {
      const res = await explain(body, headers);
      assert.deepEqual([res.status, res.body.code], [status, code], code);
    }
    const invalid = await explain({ token: '' });
    assert.deepEqual(
      invalid.body.errors?.map((e) => e.field),
      ['token'],
      'the fields are listed as in every invalid_input',
    );
    assert.equal((await explain({ token: user }, {}, limited)).status, 200);
    const refused = await explain({ token: user }, {}, limited);
    assert.deepEqual([refused.status, refused.body.code], [429, 'too_many_requests']);
    const stats = await call('/api/stats');
    assert.equal(stats.status, 200);
  });

  it('when the walk is over, then every documented operation answered its success status', () => {
    const missing = [...documented(doc).operations].filter(
      (op) => ![...checker.seen].some((seen) => seen.startsWith(`${op} 2`)),
    );
    assert.deepEqual(missing, []);
  });

  it('when the express app is read, then every route is in the document and every documented route exists', () => {
    const inCode = expressRoutes(resource.service.app);
    const inDoc = documented(doc).operations;
    assert.deepEqual(
      [...inCode].filter((r) => !inDoc.has(r)),
      [],
      'routes missing from the document',
    );
    assert.deepEqual(
      [...inDoc].filter((r) => !inCode.has(r)),
      [],
      'documented routes the app does not have',
    );
  });

  it('when the error catalogues are read, then every (status, code) is in the document', () => {
    const inDoc = documented(doc).codes;
    const missing = [...problemCodesIn(CATALOGUES), ...EVERY_SERVICE]
      .filter(([code, status]) => !inDoc.get(code)?.has(status))
      .map(([code, status]) => `${status} ${code}`);
    assert.deepEqual(missing, []);
    assert.ok(inDoc.has('token_expired') && inDoc.has('keys_unavailable'), 'the catalogue was read');
  });
});
