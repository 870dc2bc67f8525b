import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { migratedDatabase, STRONG_PASSWORD, testEnv, username } from '@authstack/auth/testing';
import { eventually, http, suiteScope } from '@authstack/testing';
import { freePort } from '../nginx/local-gateway.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Attribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean };
}
interface Span {
  service: string;
  traceId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean | undefined>;
}
const SERVER = 2;
/** The database a client span talks to (newer semantic conventions first). */
const dbSystem = (span: Span) => span.attributes['db.system.name'] ?? span.attributes['db.system'];

/** An OTLP/HTTP (JSON) receiver: what a collector or Jaeger would get. */
function otlpReceiver() {
  const spans: Span[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const payload = JSON.parse(body) as {
          resourceSpans: {
            resource: { attributes: Attribute[] };
            scopeSpans: {
              spans: { traceId: string; name: string; kind: number; attributes?: Attribute[] }[];
            }[];
          }[];
        };
        for (const resourceSpans of payload.resourceSpans) {
          const service = resourceSpans.resource.attributes.find((a) => a.key === 'service.name')?.value
            .stringValue;
          for (const scope of resourceSpans.scopeSpans)
            for (const span of scope.spans)
              spans.push({
                service: service ?? '',
                traceId: span.traceId,
                name: span.name,
                kind: span.kind,
                attributes: Object.fromEntries(
                  (span.attributes ?? []).map((a) => [
                    a.key,
                    a.value.stringValue ??
                      (a.value.intValue === undefined ? a.value.boolValue : Number(a.value.intValue)),
                  ]),
                ),
              });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return { spans, server };
}

/** A service as its container runs it: `node --import @authstack/telemetry/tracing services/<name>/src/server.ts`. */
async function startService(name: string, env: Record<string, string | undefined>) {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', '@authstack/telemetry/tracing', `services/${name}/src/server.ts`],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${stderr}`);
    return (await fetch(`${url}/readyz`)).ok;
  }, 20_000);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('OpenTelemetry tracing, on when OTEL_EXPORTER_OTLP_ENDPOINT is set', () => {
  const scope = suiteScope();
  let receiver: ReturnType<typeof otlpReceiver>;
  let auth: Awaited<ReturnType<typeof startService>>;
  let resource: Awaited<ReturnType<typeof startService>>;
  let token = '';

  before(async () => {
    receiver = otlpReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    scope.defer(() => new Promise((resolve) => receiver.server.close(resolve)));
    const endpoint = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
    const tracing = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' };
    const db = await migratedDatabase(scope);
    const authEnv = testEnv(db, { LOG_LEVEL: 'silent', OTEL_SERVICE_NAME: 'auth', ...tracing });
    auth = await startService('auth', authEnv);
    scope.defer(() => auth.stop());
    resource = await startService('resource', {
      LOG_LEVEL: 'silent',
      JWT_ISSUER: 'https://localhost:8443', // auth's default issuer
      JWKS_URI: `${auth.url}/.well-known/jwks.json`,
      OTEL_SERVICE_NAME: 'resource',
      ...tracing,
    });
    scope.defer(() => resource.stop());
  });

  const serverSpan = (service: string, path: string) =>
    receiver.spans.find(
      (s) =>
        s.service === service &&
        s.kind === SERVER &&
        (s.attributes['url.path'] ?? s.attributes['http.target']) === path,
    );
  const traceOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);

  it('when a user logs in, then auth exports the trace: http, express, pg, ioredis and bcrypt spans', async () => {
    const name = username('otel');
    assert.equal(
      (await http(`${auth.url}/auth/register`, { body: { username: name, password: STRONG_PASSWORD } }))
        .status,
      201,
    );
    const login = await http<{ access_token: string }>(`${auth.url}/auth/login`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(login.status, 200);
    token = login.body.access_token;

    const complete = (trace: Span[]) =>
      trace.some((s) => s.name === 'bcrypt.compare') &&
      trace.some((s) => String(dbSystem(s)).startsWith('postgres')) &&
      trace.some((s) => dbSystem(s) === 'redis') &&
      trace.some((s) => s.attributes['express.type'] !== undefined);
    await eventually(async () => {
      const root = serverSpan('auth', '/auth/login');
      return root !== undefined && complete(traceOf(root.traceId));
    });
    const trace = traceOf(serverSpan('auth', '/auth/login')!.traceId);
    assert.ok(trace.every((s) => s.service === 'auth'));
    assert.ok(
      trace.some((s) => s.name === 'bcrypt.compare'),
      'bcrypt',
    );
    assert.ok(
      trace.some((s) => String(dbSystem(s)).startsWith('postgres')),
      'pg',
    );
    assert.ok(
      trace.some((s) => dbSystem(s) === 'redis'),
      'ioredis',
    );
    assert.ok(
      trace.some((s) => s.attributes['express.type'] !== undefined),
      'express',
    );
    assert.ok(!JSON.stringify(trace).includes(STRONG_PASSWORD), 'no password in any span');
    const redisText = trace
      .filter((s) => dbSystem(s) === 'redis')
      .map((s) => String(s.attributes['db.query.text'] ?? s.attributes['db.statement']));
    assert.ok(redisText.length > 0);
    assert.deepEqual(
      redisText.filter((text) => !/^[a-z]+$/.test(text)),
      [],
      'a Redis span names its command, never its arguments (keys, values, a script and its ARGV)',
    );
  });

  it('when a protected resource is called, then its trace is the resource alone: verification, never a call to auth', async () => {
    const res = await http(`${resource.url}/api/protected`, { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await eventually(async () => {
      const root = serverSpan('resource', '/api/protected');
      return root !== undefined && traceOf(root.traceId).some((s) => s.name === 'jwt.verify');
    });
    const trace = traceOf(serverSpan('resource', '/api/protected')!.traceId);
    const verify = trace.find((s) => s.name === 'jwt.verify')!;
    assert.equal(verify.attributes['jwt.result'], 'valid');
    assert.deepEqual([...new Set(trace.map((s) => s.service))], ['resource']);
    assert.ok(!JSON.stringify(trace).includes(token), 'no token in any span');
  });
});
