/**
 * The gateway passes W3C Trace Context to every upstream (auth, the stateless resource, the session-mode one and the
 * cookie exchange): a client's well-formed traceparent unchanged, with its tracestate; otherwise a traceparent whose
 * trace id is nginx's $request_id, the request id of the access log. The real nginx and templates; the upstreams are
 * recorders that keep the headers they receive.
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

describe('the gateway passes trace context to every upstream', () => {
  const scope = suiteScope();
  const received: Received[] = [];
  let gateway: Gateway;
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
    gateway = await startTestGateway(scope, {
      authUpstream: await recorder('auth'),
      resourceUpstream: await recorder('resource'),
      resourceSessionUpstream: await recorder('resource-session'),
      certs,
    });
  });

  /** One request through the gateway, marked by its user agent; what each upstream received, and its access line. */
  async function through(method: string, path: string, headers: Record<string, string>) {
    const agent = `trace-context-test-${hex(6)}`;
    const responseRequestId = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${gateway.httpsUrl}${path}`,
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
        (existsSync(gateway.accessLog) &&
          readFileSync(gateway.accessLog, 'utf8')
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

  for (const route of ROUTES)
    it(`when ${route.name} carries a well-formed traceparent and a tracestate, then every upstream receives both unchanged`, async () => {
      const traceparent = `00-${hex(16)}-${hex(8)}-01`;
      const tracestate = 'vendor=opaque-value,other=1';
      const { seen } = await through(route.method, route.path, { ...route.headers, traceparent, tracestate });
      assert.deepEqual(
        seen.map((r) => r.upstream),
        route.upstreams,
      );
      for (const r of seen) {
        assert.equal(r.headers.traceparent, traceparent, r.upstream);
        assert.equal(r.headers.tracestate, tracestate, r.upstream);
      }
    });

  for (const route of ROUTES)
    it(`when ${route.name} carries no traceparent, then every upstream receives one whose trace id is the access log's request id`, async () => {
      const { seen, requestId, responseRequestId } = await through(route.method, route.path, route.headers);
      assert.match(requestId, /^[0-9a-f]{32}$/);
      assert.equal(responseRequestId, requestId);
      assert.deepEqual(
        seen.map((r) => r.upstream),
        route.upstreams,
      );
      for (const r of seen) {
        const [, traceId, parentId] = GENERATED.exec(String(r.headers.traceparent)) ?? [];
        assert.equal(traceId, requestId, `${r.upstream}: ${r.headers.traceparent}`);
        assert.notEqual(parentId, '0'.repeat(16));
        assert.equal(r.headers.tracestate, undefined, r.upstream);
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
    'not one at all': 'hello',
  };
  for (const [what, traceparent] of Object.entries(MALFORMED))
    it(`when a request's traceparent has ${what}, then the upstream receives a generated one instead, and no tracestate`, async () => {
      const { seen, requestId } = await through('GET', '/api/protected', {
        authorization: 'Bearer a-token',
        traceparent,
        tracestate: 'vendor=opaque-value',
      });
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.headers.traceparent, `00-${requestId}-${requestId.slice(16)}-01`);
      assert.equal(seen[0]!.headers.tracestate, undefined);
    });
});
