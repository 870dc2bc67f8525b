/**
 * The gateway's W3C Trace Context for every upstream (auth, the stateless resource, the session-mode one and the
 * cookie exchange). By default every upstream receives a traceparent built from nginx's $request_id (the request id
 * of the access log), sampled, whatever the client sent, and never the client's tracestate or baggage. With
 * GATEWAY_TRUST_TRACEPARENT=on a client's well-formed traceparent passes unchanged, with its tracestate; a missing or
 * malformed one is replaced as by default. The real nginx and templates; the upstreams are recorders that keep the
 * headers they receive.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { eventually, suiteScope } from '@authstack/testing';
import { startTestGateway, testCerts } from '../../e2e/support.ts';
import type { Gateway } from '../nginx/local-gateway.ts';

interface Received {
  upstream: string;
  path: string;
  headers: IncomingHttpHeaders;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const GENERATED = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe("the gateway's trace context for every upstream: its own by default, the client's only when trusted", () => {
  const scope = suiteScope();
  const received: Received[] = [];
  /** The default gateway (GATEWAY_TRUST_TRACEPARENT off) and one with GATEWAY_TRUST_TRACEPARENT=on. */
  let gateway: Gateway;
  let trusting: Gateway;
  let ca: Buffer;

  /** An upstream that records each request and answers as the real one would, enough for nginx to pass it on. */
  async function recorder(upstream: string) {
    const server = createServer((req, res) => {
      received.push({ upstream, path: req.url ?? '', headers: req.headers });
      req.resume();
      // The cookie exchange: auth answers with the session's access token.
      if (req.url === '/internal/session-token')
        res.writeHead(200, { 'x-session-authorization': 'Bearer from-the-session' });
      else res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    scope.defer(() => new Promise((resolve) => server.close(resolve)));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  before(async () => {
    const certs = testCerts(scope);
    ca = readFileSync(certs.ca);
    const upstreams = {
      authUpstream: await recorder('auth'),
      resourceUpstream: await recorder('resource'),
      resourceSessionUpstream: await recorder('resource-session'),
      certs,
    };
    gateway = await startTestGateway(scope, upstreams);
    trusting = await startTestGateway(scope, { ...upstreams, trustTraceparent: true });
  });

  /** One request through `via`, marked by its user agent; what each upstream received, and its access line. */
  async function through(via: Gateway, method: string, path: string, headers: Record<string, string>) {
    const agent = `trace-context-test-${hex(6)}`;
    // Each cookie call with a session value of its own: the gateway's cookie exchange cache answers a value it
    // has just exchanged without asking auth again (infra/test/gateway-cookie-exchange.cache.test.ts).
    if (headers.cookie) headers = { ...headers, cookie: `${headers.cookie}-${hex(6)}` };
    const responseRequestId = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${via.httpsUrl}${path}`,
        { method, headers: { ...headers, 'user-agent': agent }, ca },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) resolve(String(res.headers['x-request-id']));
            else reject(new Error(`${method} ${path}: ${res.statusCode}`));
          });
        },
      );
      req.on('error', reject);
      req.end(method === 'POST' ? '{}' : undefined);
    });
    const seen = received.filter((r) => r.headers['x-request-id'] === responseRequestId);
    const line = await eventually(
      () =>
        (existsSync(via.accessLog) &&
          readFileSync(via.accessLog, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((text) => JSON.parse(text) as { request_id: string; user_agent: string })
            .find((entry) => entry.user_agent === agent)) ??
        false,
    );
    return { seen, requestId: line.request_id, responseRequestId };
  }

  /** Each route to an upstream, with what it should reach. */
  const ROUTES: {
    name: string;
    method: string;
    path: string;
    headers: Record<string, string>;
    upstreams: string[];
  }[] = [
    { name: 'login (auth)', method: 'POST', path: '/auth/login', headers: {}, upstreams: ['auth'] },
    {
      name: 'a Bearer call (the stateless resource)',
      method: 'GET',
      path: '/api/protected',
      headers: { authorization: 'Bearer a-token' },
      upstreams: ['resource'],
    },
    {
      name: 'a Bearer call (the session-mode resource)',
      method: 'GET',
      path: '/api-session/protected',
      headers: { authorization: 'Bearer a-token' },
      upstreams: ['resource-session'],
    },
    {
      name: "a cookie call (auth's cookie exchange, then the resource)",
      method: 'GET',
      path: '/api/protected',
      headers: { cookie: '__Host-session=a-session' },
      upstreams: ['auth', 'resource'],
    },
  ];

  /** What every upstream must receive from the gateway's own trace context for `requestId`. */
  function assertGatewayMade(seen: Received[], requestId: string) {
    assert.match(requestId, /^[0-9a-f]{32}$/);
    for (const r of seen) {
      assert.equal(r.headers.traceparent, `00-${requestId}-${requestId.slice(16)}-01`, r.upstream);
      assert.equal(r.headers.tracestate, undefined, r.upstream);
      assert.equal(r.headers.baggage, undefined, r.upstream);
    }
  }

  const BAGGAGE = 'userId=alice,isProduction=false';
  for (const route of ROUTES)
    for (const [flags, what] of [
      ['01', 'sampled'],
      ['00', 'not sampled'],
    ] as const)
      it(`when ${route.name} carries a well-formed traceparent (${what}), a tracestate and baggage, then by default every upstream receives the gateway's own sampled traceparent instead, and neither tracestate nor baggage`, async () => {
        const { seen, requestId, responseRequestId } = await through(gateway, route.method, route.path, {
          ...route.headers,
          traceparent: `00-${hex(16)}-${hex(8)}-${flags}`,
          tracestate: 'vendor=opaque-value,other=1',
          baggage: BAGGAGE,
        });
        assert.equal(responseRequestId, requestId);
        assert.deepEqual(
          seen.map((r) => r.upstream),
          route.upstreams,
        );
        assertGatewayMade(seen, requestId);
      });

  it('when the headers are spelt in another case (TraceParent, TraceState, Baggage), then by default they are replaced or dropped all the same', async () => {
    const { seen, requestId } = await through(gateway, 'GET', '/api/protected', {
      authorization: 'Bearer a-token',
      TraceParent: `00-${hex(16)}-${hex(8)}-00`,
      TraceState: 'vendor=opaque-value',
      Baggage: BAGGAGE,
    });
    assert.equal(seen.length, 1);
    assertGatewayMade(seen, requestId);
  });

  for (const [name, via] of [
    ['by default', () => gateway],
    ['with GATEWAY_TRUST_TRACEPARENT=on', () => trusting],
  ] as const)
    for (const route of ROUTES)
      it(`when ${route.name} carries no traceparent, then ${name} every upstream receives one whose trace id is the access log's request id`, async () => {
        const { seen, requestId, responseRequestId } = await through(via(), route.method, route.path, {
          ...route.headers,
        });
        assert.equal(responseRequestId, requestId);
        assert.deepEqual(
          seen.map((r) => r.upstream),
          route.upstreams,
        );
        for (const r of seen) {
          const [, traceId, parentId] = GENERATED.exec(String(r.headers.traceparent)) ?? [];
          assert.equal(traceId, requestId, `${r.upstream}: ${r.headers.traceparent}`);
          assert.notEqual(parentId, '0'.repeat(16));
        }
        assertGatewayMade(seen, requestId);
      });

  for (const route of ROUTES)
    for (const flags of ['01', '00'])
      it(`when ${route.name} carries a well-formed traceparent (flags ${flags}) and a tracestate, then with GATEWAY_TRUST_TRACEPARENT=on every upstream receives both unchanged, and never the baggage`, async () => {
        const traceparent = `00-${hex(16)}-${hex(8)}-${flags}`;
        const tracestate = 'vendor=opaque-value,other=1';
        const { seen } = await through(trusting, route.method, route.path, {
          ...route.headers,
          traceparent,
          tracestate,
          baggage: BAGGAGE,
        });
        assert.deepEqual(
          seen.map((r) => r.upstream),
          route.upstreams,
        );
        for (const r of seen) {
          assert.equal(r.headers.traceparent, traceparent, r.upstream);
          assert.equal(r.headers.tracestate, tracestate, r.upstream);
          assert.equal(r.headers.baggage, undefined, r.upstream);
        }
      });

  const MALFORMED: Record<string, string> = {
    'upper-case hex': `00-${hex(16).toUpperCase()}-${hex(8)}-01`,
    'an all-zero trace id': `00-${'0'.repeat(32)}-${hex(8)}-01`,
    'an all-zero parent id': `00-${hex(16)}-${'0'.repeat(16)}-01`,
    'version ff': `ff-${hex(16)}-${hex(8)}-01`,
    'a short trace id': `00-${hex(15)}-${hex(8)}-01`,
    'text after it': `00-${hex(16)}-${hex(8)}-01-extra`,
    'a second field after a space': `00-${hex(16)}-${hex(8)}-01 x`,
    'a trust setting in it': `on:00-${hex(16)}-${hex(8)}-01`,
    'not one at all': 'hello',
  };
  for (const [what, traceparent] of Object.entries(MALFORMED))
    it(`when a request's traceparent has ${what}, then with GATEWAY_TRUST_TRACEPARENT=on the upstream receives a generated one instead, and no tracestate`, async () => {
      const { seen, requestId } = await through(trusting, 'GET', '/api/protected', {
        authorization: 'Bearer a-token',
        traceparent,
        tracestate: 'vendor=opaque-value',
      });
      assert.equal(seen.length, 1);
      assertGatewayMade(seen, requestId);
    });
});
