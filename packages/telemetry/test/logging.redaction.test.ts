import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import jwt from 'jsonwebtoken';
import { createLogger, httpLogger, type Logger, requestId } from '../src/index.ts';

const SECRET = 'S3cr3t-value-that-must-never-be-logged';

function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    service: 'telemetry-test',
    level: 'info',
    destination: { write: (line: string) => void lines.push(line) },
  });
  return { logger, lines };
}

describe('log lines never carry passwords or tokens', () => {
  const topLevel = ['password', 'token', 'access_token', 'refresh_token'];
  const nested = ['password', 'current_password', 'new_password', 'token', 'access_token', 'refresh_token'];

  for (const field of topLevel) {
    it(`when ${field} is logged at the top level, then it is redacted`, () => {
      const { logger, lines } = capturingLogger();
      logger.info({ [field]: SECRET, username: 'alice' }, 'event');
      const [line] = lines;
      assert.ok(line);
      assert.doesNotMatch(line, new RegExp(SECRET));
      assert.equal(JSON.parse(line)[field], '[redacted]');
      assert.equal(JSON.parse(line).username, 'alice');
    });
  }

  for (const field of nested) {
    it(`when ${field} is logged one level down, then it is redacted`, () => {
      const { logger, lines } = capturingLogger();
      logger.info({ body: { [field]: SECRET } }, 'event');
      const [line] = lines;
      assert.ok(line);
      assert.doesNotMatch(line, new RegExp(SECRET));
      assert.equal(JSON.parse(line).body[field], '[redacted]');
    });
  }

  for (const header of ['authorization', 'cookie', 'x-refresh-token']) {
    it(`when request headers with ${header} are logged, then ${header} is redacted`, () => {
      const { logger, lines } = capturingLogger();
      logger.info({ req: { headers: { [header]: SECRET, accept: 'application/json' } } }, 'request');
      const [line] = lines;
      assert.ok(line);
      assert.doesNotMatch(line, new RegExp(SECRET));
      assert.equal(JSON.parse(line).req.headers.accept, 'application/json');
    });
  }

  it('when response headers with set-cookie are logged, then the cookie is redacted', () => {
    const { logger, lines } = capturingLogger();
    logger.info({ res: { headers: { 'set-cookie': `__Host-session=${SECRET}` } } }, 'response');
    assert.doesNotMatch(lines.join(''), new RegExp(SECRET));
  });
});

describe('the request log: no bodies, no credentials, a request id', () => {
  const { logger, lines } = capturingLogger();
  let url = '';
  let close: () => void;
  const ids: (string | undefined)[] = [];

  before(async () => {
    const app = express();
    app.use(httpLogger(logger));
    app.use(express.json());
    app.post('/login', (req, res) => {
      ids.push(requestId(req));
      res.cookie('__Host-session', SECRET, { httpOnly: true, secure: true, path: '/' });
      res.json({ access_token: SECRET });
    });
    app.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    close = () => server.close();
  });
  after(() => close());

  const login = (headers: Record<string, string> = {}) =>
    fetch(`${url}/login?access_token=${SECRET}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${SECRET}`,
        cookie: `__Host-session=${SECRET}`,
        'x-refresh-token': SECRET,
        ...headers,
      },
      body: JSON.stringify({ username: 'alice', password: SECRET }),
    });

  it('when a request carries credentials in headers, query string and body, then its log line has none of them', async () => {
    lines.length = 0;
    await (await login()).text();
    assert.equal(lines.length, 1);
    assert.doesNotMatch(lines[0] ?? '', new RegExp(SECRET));
    const logged = JSON.parse(lines[0] ?? '{}');
    assert.equal(logged.req.method, 'POST');
    assert.equal(logged.req.path, '/login', 'the path only, never the query string');
    assert.equal(logged.res.status, 200);
  });

  it('when the gateway sends a well-formed X-Request-Id, then it is echoed, logged and given to handlers', async () => {
    lines.length = 0;
    ids.length = 0;
    const res = await login({ 'x-request-id': 'gw-0123456789abcdef' });
    await res.text();
    assert.equal(res.headers.get('x-request-id'), 'gw-0123456789abcdef');
    assert.deepEqual(ids, ['gw-0123456789abcdef']);
    assert.equal(JSON.parse(lines[0] ?? '{}').req.id, 'gw-0123456789abcdef');
  });

  for (const [name, given] of [
    ['too short', 'abc'],
    ['with spaces', 'not a request id'],
    ['too long', 'x'.repeat(129)],
  ] as const) {
    it(`when X-Request-Id is ${name}, then a fresh UUID replaces it`, async () => {
      const res = await login({ 'x-request-id': given });
      await res.text();
      assert.match(
        res.headers.get('x-request-id') ?? '',
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    });
  }

  it('when /healthz is polled, then nothing is logged', async () => {
    lines.length = 0;
    await (await fetch(`${url}/healthz`)).text();
    await (await login()).text();
    assert.equal(lines.length, 1, 'only the login is logged');
  });
});

describe('errors in log lines keep their own fields', () => {
  it('when an error carries a date (jsonwebtoken TokenExpiredError), then the date is logged as a date', () => {
    const { logger, lines } = capturingLogger();
    logger.error({ err: new jwt.TokenExpiredError('jwt expired', new Date(0)) }, 'refused');
    const err = JSON.parse(lines[0] ?? '{}').err;
    assert.equal(err.type, 'TokenExpiredError');
    assert.equal(err.message, 'jwt expired');
    assert.equal(err.expiredAt, '1970-01-01T00:00:00.000Z');
  });
});
