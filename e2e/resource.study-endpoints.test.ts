import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerAndLogin } from '@authstack/auth/testing';
import { startTestResource } from '@authstack/resource/testing';
import { http, testScope } from '@authstack/testing';
import { useStack, verifierEnv } from './support.ts';

interface Explained {
  status: string;
  mode: string;
  explanation: {
    valid: boolean;
    code?: string;
    steps: { step: string; outcome: string }[];
    cacheHit: boolean;
  };
}
interface Stats {
  mode: string;
  verifications: Record<string, number>;
  session_checks?: Record<string, number>;
  cache: { hits: number; misses: number; size: number; hit_ratio: number | null };
}

describe('the study endpoints: POST /api/explain and GET /api/stats', () => {
  const stack = useStack({ resource: { EXPLAIN_RATE_LIMIT: '5' } });

  it('when a good token is explained, then every step passed, nothing is counted or cached, and the answer is not stored', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const before = await http<Stats>(`${stack.stateless.url}/api/stats`);
    const explained = await http<Explained>(`${stack.stateless.url}/api/explain`, {
      body: { token: user.access_token },
    });
    assert.equal(explained.status, 200);
    assert.equal(explained.headers.get('cache-control'), 'no-store');
    assert.equal(explained.body.explanation.valid, true);
    assert.ok(explained.body.explanation.steps.every((s) => s.outcome === 'passed'));
    const afterwards = await http<Stats>(`${stack.stateless.url}/api/stats`);
    assert.deepEqual(afterwards.body.verifications, before.body.verifications);
    assert.deepEqual(afterwards.body.cache, before.body.cache);
  });

  it('when a refused token is explained, then the answer is 200 with the refusal code: explaining never authorises', async () => {
    const explained = await http<Explained>(`${stack.session.url}/api/explain`, { body: { token: 'a.b.c' } });
    assert.equal(explained.status, 200);
    assert.deepEqual(
      [explained.body.explanation.valid, explained.body.explanation.code],
      [false, 'token_malformed'],
    );
    assert.equal(explained.body.mode, 'session');
  });

  it('when the body is not a token, then 400 invalid_input; when it is not JSON, then 415', async () => {
    const missing = await http(`${stack.session.url}/api/explain`, { body: { tokens: 'x' } });
    assert.deepEqual([missing.status, missing.body.code], [400, 'invalid_input']);
    const text = await http(`${stack.session.url}/api/explain`, {
      body: 'token=x',
      headers: { 'content-type': 'text/plain' },
    });
    assert.deepEqual([text.status, text.body.code], [415, 'unsupported_media_type']);
  });

  it('when one client asks for more explanations than the limit, then 429 too_many_requests with Retry-After', async (t) => {
    const fresh = await startTestResource(
      verifierEnv(stack.auth, { EXPLAIN_RATE_LIMIT: '2' }),
      {},
      testScope(t),
    );
    const ask = () => http(`${fresh.url}/api/explain`, { body: { token: 'a.b.c' } });
    for (let i = 0; i < 2; i += 1) assert.equal((await ask()).status, 200);
    const refused = await ask();
    assert.deepEqual([refused.status, refused.body.code], [429, 'too_many_requests']);
    assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(refused.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  });

  it('when tokens are verified, then the stats count each result and the cache hits, per instance', async () => {
    const user = await registerAndLogin(stack.auth.url);
    for (let i = 0; i < 3; i += 1) {
      assert.equal(
        (await http(`${stack.stateless.url}/api/protected`, { token: user.access_token })).status,
        200,
      );
    }
    assert.equal((await http(`${stack.stateless.url}/api/protected`, { token: 'a.b.c' })).status, 401);
    const stats = await http<Stats>(`${stack.stateless.url}/api/stats`);
    assert.equal(stats.status, 200);
    assert.equal(stats.body.mode, 'stateless');
    assert.ok((stats.body.verifications.valid ?? 0) >= 3);
    assert.ok((stats.body.verifications.token_malformed ?? 0) >= 1);
    assert.ok(stats.body.cache.hits >= 2, 'the second and third calls are cache hits');
    assert.equal(
      stats.body.cache.hit_ratio,
      stats.body.cache.hits / (stats.body.cache.hits + stats.body.cache.misses),
    );
    assert.equal(stats.body.session_checks, undefined);
  });

  it('when a logged-out token reaches the session-mode instance, then its stats count a revoked session check', async () => {
    const user = await registerAndLogin(stack.auth.url);
    assert.equal(
      (await http(`${stack.session.url}/api/protected`, { token: user.access_token })).status,
      200,
    );
    await http(`${stack.auth.url}/auth/logout`, { method: 'POST', token: user.access_token });
    assert.equal(
      (await http(`${stack.session.url}/api/protected`, { token: user.access_token })).status,
      401,
    );
    const stats = await http<Stats>(`${stack.session.url}/api/stats`);
    assert.ok((stats.body.session_checks?.alive ?? 0) >= 1);
    assert.ok((stats.body.session_checks?.revoked ?? 0) >= 1);
  });
});
