import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError, AuthClient } from '../src/sdk.ts';

/** A fake API: /api/protected wants the token "fresh-N"; /auth/refresh hands out the next one. */
describe('AuthClient.request', () => {
  let server: Server;
  let baseUrl: string;
  let refreshes = 0;
  const expired = true;

  before(async () => {
    server = createServer((req, res) => {
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/auth/refresh') {
        refreshes += 1;
        return json(200, {
          message: 'ok',
          access_token: `fresh-${refreshes}`,
          refresh_token: `r-${refreshes}`,
          expires_in: 300,
          user: {},
        });
      }
      if (req.url === '/api/protected') {
        if (expired && req.headers.authorization === 'Bearer stale')
          return json(401, { code: 'token_expired', status: 401 });
        if (req.headers.authorization?.startsWith('Bearer fresh-')) return json(200, { ok: true });
        return json(401, { code: 'signature_invalid', status: 401 });
      }
      json(404, { code: 'not_found' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('when the access token has expired, then it refreshes once and retries', async () => {
    refreshes = 0;
    const saved: unknown[] = [];
    const client = new AuthClient({
      baseUrl,
      insecureHttpLoopback: true,
      tokens: { accessToken: 'stale', refreshToken: 'r-0', accessExpiresAt: 0 },
      onTokens: (t) => saved.push(t),
    });
    assert.deepEqual(await client.request('GET', '/api/protected'), { ok: true });
    assert.equal(refreshes, 1);
    assert.equal(client.tokens?.accessToken, 'fresh-1');
    assert.equal(saved.length, 1);
  });

  it('when the token is invalid for another reason, then no refresh happens and the error is typed', async () => {
    refreshes = 0;
    const client = new AuthClient({
      baseUrl,
      insecureHttpLoopback: true,
      tokens: { accessToken: 'forged', refreshToken: 'r-0', accessExpiresAt: 0 },
    });
    const error = await client.request('GET', '/api/protected').catch((e: unknown) => e);
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 401);
    assert.equal(error.code, 'signature_invalid');
    assert.equal(refreshes, 0);
  });
});
