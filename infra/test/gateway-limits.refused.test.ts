import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { eventually, suiteScope } from '@authstack/testing';
import { startTestGateway, testCerts } from '../../e2e/support.ts';
import type { Gateway, makeCerts } from '../nginx/local-gateway.ts';

interface Reply {
  status: number;
  body: { code?: string; limit?: string; status?: number; request_id?: string };
}

describe("the gateway's own limits answer 429 problems that name the limit", () => {
  let upstream: Server;
  const held: ServerResponse[] = [];
  let certs: ReturnType<typeof makeCerts>;
  let gateway: Gateway;
  let ca: Buffer;

  const get = (path: string, method = 'GET'): Promise<Reply> =>
    new Promise((resolve, reject) => {
      // A fresh connection per request (an agent of its own): limit_conn counts connections.
      const req = request(`${gateway.httpsUrl}${path}`, { method, ca, agent: new Agent({ ca }) }, (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') }));
      });
      req.on('error', reject);
      req.end(method === 'POST' ? '{}' : undefined);
    });

  const scope = suiteScope();
  before(async () => {
    // The stand-in upstream holds /api/public until released, and answers anything else at once.
    upstream = createServer((req, res) => {
      if (req.url === '/api/public') held.push(res);
      else res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"invalid_credentials"}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    scope.defer(() => {
      upstream.closeAllConnections();
      return new Promise((resolve) => upstream.close(resolve));
    });
    const address = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    certs = testCerts(scope);
    ca = readFileSync(certs.ca);
    gateway = await startTestGateway(scope, {
      authUpstream: address,
      resourceUpstream: address,
      certs,
      connLimit: '2',
      loginRate: '1r/m',
      loginBurst: '1',
    });
    scope.defer(() => {
      for (const res of held.splice(0)) res.end(); // first: nginx waits for its upstream requests to stop
    });
  });

  it('when an address holds more connections than limit_conn allows, then 429 too_many_connections, not 503', async () => {
    const inFlight = [get('/api/public'), get('/api/public')];
    await eventually(async () => held.length === 2);

    const refused = await get('/api/public');
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'too_many_connections');
    assert.equal(refused.body.limit, 'connections_per_address');
    assert.ok(refused.body.request_id);

    for (const res of held.splice(0)) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    assert.deepEqual(
      (await Promise.all(inFlight)).map((r) => r.status),
      [200, 200],
    );
  });

  it('when login requests exceed limit_req, then 429 too_many_requests naming the request rate', async () => {
    const replies: Reply[] = [];
    for (let i = 0; i < 4; i++) replies.push(await get('/auth/login', 'POST'));
    const limited = replies.filter((r) => r.status === 429);
    assert.ok(limited.length > 0);
    for (const reply of limited) {
      assert.equal(reply.body.code, 'too_many_requests');
      assert.equal(reply.body.limit, 'request_rate');
    }
  });
});
