/**
 * The gateway's per-address limits (limit_req, limit_conn) count a client as the services' limits do
 * (`clientBucket`, @authstack/config): an IPv6 client per /64, since one subscriber holds the whole /64 and can use
 * any address in it; an IPv4 client per address, also IPv4-mapped. The real nginx with the real templates; the
 * test stands in for clients of other addresses through a header that only this test's nginx trusts (realip).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { suiteScope } from '@authstack/testing';
import { startTestGateway, testCerts } from '../../e2e/support.ts';
import type { Gateway } from '../nginx/local-gateway.ts';

const TEMPLATES = new URL('../nginx/templates/', import.meta.url);

describe("the gateway's limits count an IPv6 client per /64", () => {
  const scope = suiteScope();
  let upstream: Server;
  let gateway: Gateway;
  let ca: Buffer;

  /** A login from `client` (as the realip header says); the status nginx answers. */
  const loginFrom = (client: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request(
        `${gateway.httpsUrl}/auth/login`,
        { method: 'POST', ca, agent: new Agent({ ca }), headers: { 'x-test-client': client } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end('{}');
    });

  before(async () => {
    upstream = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"invalid_credentials"}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    scope.defer(() => new Promise((resolve) => upstream.close(resolve)));
    const address = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const certs = testCerts(scope);
    ca = readFileSync(certs.ca);
    // One login a minute per client and a burst of one: a client's third login is refused by limit_req.
    gateway = await startTestGateway(scope, {
      authUpstream: address,
      resourceUpstream: address,
      certs,
      loginRate: '1r/m',
      loginBurst: '1',
      clientAddressHeader: 'X-Test-Client',
    });
  });

  it('when three addresses of one /64 log in, then the third is refused 429; an address of another /64 is not', async () => {
    assert.equal(await loginFrom('2001:db8:a:b::1'), 401);
    assert.equal(await loginFrom('2001:db8:a:b::2'), 401);
    assert.equal(await loginFrom('2001:db8:a:b:ffff:ffff:ffff:fffe'), 429);
    assert.equal(await loginFrom('2001:db8:a:c::1'), 401);
  });

  it('when two IPv4 addresses log in, then each has its own limit', async () => {
    assert.equal(await loginFrom('192.0.2.10'), 401);
    assert.equal(await loginFrom('192.0.2.10'), 401);
    assert.equal(await loginFrom('192.0.2.11'), 401);
    assert.equal(await loginFrom('192.0.2.10'), 429);
  });

  it('when an IPv4 address logs in plain and IPv4-mapped, then both count as one client', async () => {
    assert.equal(await loginFrom('192.0.2.20'), 401);
    assert.equal(await loginFrom('::ffff:192.0.2.20'), 401);
    assert.equal(await loginFrom('192.0.2.20'), 429);
  });

  it('when the templates key a per-address zone, then the key is the client bucket, never the bare address', () => {
    const gatewayConf = readFileSync(new URL('gateway.conf.template', TEMPLATES), 'utf8');
    const zones = gatewayConf.match(/^\s*limit_(req|conn)_zone .*$/gm) ?? [];
    assert.equal(zones.length, 3);
    for (const zone of zones) assert.match(zone, /_zone \$client_bucket /, zone);
  });
});
