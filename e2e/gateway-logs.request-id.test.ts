import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { Writable } from 'node:stream';
import { before, describe, it } from 'node:test';
import { type AuthFixture, STRONG_PASSWORD, username } from '@authstack/auth/testing';
import type { TestResource } from '@authstack/resource/testing';
import { createLogger } from '@authstack/telemetry';
import { eventually, suiteScope } from '@authstack/testing';
import type { Gateway, makeCerts } from '../infra/nginx/local-gateway.ts';
import { startGatewayPair } from './support.ts';

/** A log destination that keeps the parsed JSON lines. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, stream };
}

interface AccessLine {
  request_id: string;
  method: string;
  path: string;
  status: number;
  request_time: number;
  upstream_addr: string;
  upstream_status: string;
  upstream_response_time: string;
  user_agent: string;
}

describe("the gateway's JSON access log and the services' logs share the request id", () => {
  const scope = suiteScope();
  let auth: AuthFixture;
  let resource: TestResource;
  let certs: ReturnType<typeof makeCerts>;
  let gateway: Gateway;
  const authLog = capture();
  const resourceLog = capture();
  const agent = `request-id-test-${process.pid}`;

  const call = (method: string, path: string, body?: unknown, token?: string) =>
    new Promise<{ status: number; requestId: string; body: Record<string, unknown> }>((resolve, reject) => {
      const headers: Record<string, string> = { 'user-agent': agent, 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      const req = request(
        `${gateway.httpsUrl}${path}`,
        { method, headers, ca: readFileSync(certs.ca) },
        (res) => {
          let text = '';
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              requestId: String(res.headers['x-request-id']),
              body: JSON.parse(text || '{}'),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });

  const accessLines = (): AccessLine[] =>
    existsSync(gateway.accessLog)
      ? readFileSync(gateway.accessLog, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as AccessLine)
          .filter((line) => line.user_agent === agent)
      : [];

  before(async () => {
    ({ auth, resource, certs, gateway } = await startGatewayPair(scope, {
      options: { logger: createLogger({ service: 'auth', level: 'info', destination: authLog.stream }) },
      resourceOptions: {
        logger: createLogger({ service: 'resource', level: 'info', destination: resourceLog.stream }),
      },
    }));
  });

  it('when a login and a protected call pass the gateway, then each access line is JSON and its request id is in the service log line of that request', async () => {
    const name = username('rid');
    assert.equal(
      (await call('POST', '/auth/register', { username: name, password: STRONG_PASSWORD })).status,
      201,
    );
    const login = await call('POST', '/auth/login', { username: name, password: STRONG_PASSWORD });
    assert.equal(login.status, 200);
    const protectedCall = await call(
      'GET',
      '/api/protected?ignored=query',
      undefined,
      String(login.body.access_token),
    );
    assert.equal(protectedCall.status, 200);

    let lines: AccessLine[] = [];
    await eventually(async () => {
      lines = accessLines();
      return lines.length === 3;
    });
    const loginLine = lines.find((line) => line.path === '/auth/login')!;
    const protectedLine = lines.find((line) => line.path === '/api/protected')!;

    assert.equal(loginLine.method, 'POST');
    assert.equal(loginLine.status, 200);
    assert.equal(loginLine.upstream_addr, new URL(auth.url).host);
    assert.equal(loginLine.upstream_status, '200');
    assert.equal(typeof loginLine.request_time, 'number');
    assert.match(loginLine.upstream_response_time, /^\d+\.\d{3}$/);
    assert.equal(protectedLine.upstream_addr, new URL(resource.url).host);
    assert.ok(!JSON.stringify(lines).includes('ignored=query'), 'no query string in the access log');
    assert.ok(!JSON.stringify(lines).includes(String(login.body.access_token)), 'no token in the access log');

    // The gateway's id, from its own log line, is the id of the service's log line for that request.
    const logged = (log: Record<string, unknown>[], id: string) =>
      log.some((line) => (line.req as { id?: string } | undefined)?.id === id);
    await eventually(async () => logged(authLog.lines, loginLine.request_id));
    await eventually(async () => logged(resourceLog.lines, protectedLine.request_id));
    assert.equal(login.requestId, loginLine.request_id);
    assert.equal(protectedCall.requestId, protectedLine.request_id);
  });
});
