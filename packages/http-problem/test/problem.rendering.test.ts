import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import {
  HttpProblem,
  notFound,
  PROBLEM_CONTENT_TYPE,
  problemHandler,
  requireJsonBody,
  serviceUnavailable,
} from '../src/index.ts';

// The members every problem body has (RFC 9457 plus `code` and `request_id`), sorted.
const RFC9457_MEMBERS = ['code', 'detail', 'request_id', 'status', 'title', 'type'];
// What a library or the database might put in an error message: none of it may reach a client.
const INTERNAL = 'duplicate key value violates unique constraint "users_pkey" at /srv/app/store/users.ts:42';

describe('problemHandler renders every error as RFC 9457 problem+json', () => {
  const logged: { status: number; original: unknown }[] = [];
  let url = '';
  let close: () => void;

  before(async () => {
    const app = express();
    app.use(requireJsonBody, express.json({ limit: '1kb' }));
    app.post('/echo', (req, res) => {
      res.json(req.body);
    });
    app.get('/teapot', () => {
      throw new HttpProblem({
        status: 418,
        code: 'teapot',
        title: 'I am a teapot',
        detail: 'Short and stout.',
        extra: { reasons: ['spout'], status: 200, code: 'overridden', type: 'https://evil.test' },
        headers: { 'Retry-After': '7' },
        cause: new Error(INTERNAL),
      });
    });
    app.get('/unavailable', () => {
      throw serviceUnavailable('postgres', new Error(INTERNAL));
    });
    app.get('/crash', () => {
      throw new Error(INTERNAL);
    });
    app.get('/crash-async', async () => {
      await Promise.resolve();
      throw Object.assign(new Error(INTERNAL), { status: 400, code: 'ECONNREFUSED' });
    });
    app.get('/exposed', () => {
      throw Object.assign(new Error(INTERNAL), {
        expose: true,
        status: 401,
        code: 'token_expired',
        title: 'Access token expired',
      });
    });
    app.get('/half-exposed', () => {
      throw Object.assign(new Error(INTERNAL), { expose: true, status: 401, code: 'token_expired' });
    });
    app.get('/thrown-string', () => {
      throw INTERNAL;
    });
    app.use(notFound);
    app.use(
      problemHandler({
        requestId: (req) => req.get('x-request-id'),
        log: (problem, original) => logged.push({ status: problem.status, original }),
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  after(() => close());

  const post = (contentType: string, body: string) =>
    problem('/echo', { method: 'POST', headers: { 'content-type': contentType }, body });

  /** Status, code and type agree, and nothing of the internal message is in the body. */
  function assertProblem(res: Awaited<ReturnType<typeof problem>>, status: number, code: string): void {
    assert.equal(res.status, status);
    assert.equal(res.body.status, status);
    assert.equal(res.body.code, code);
    assert.equal(res.body.type, `https://authstack.dev/problems/${code}`);
    assert.doesNotMatch(res.text, /users_pkey|store\/users\.ts/);
  }

  async function problem(path: string, init: RequestInit = {}) {
    const res = await fetch(`${url}${path}`, init);
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      text,
      body: JSON.parse(text) as Record<string, unknown>,
    };
  }

  it('when a route throws an HttpProblem, then its status, code, title, detail and headers are sent', async () => {
    const res = await problem('/teapot', { headers: { 'x-request-id': 'req-0001-abcd' } });
    assert.equal(res.status, 418);
    assert.equal(res.headers.get('content-type'), `${PROBLEM_CONTENT_TYPE}; charset=utf-8`);
    assert.equal(res.headers.get('retry-after'), '7');
    assert.deepEqual(res.body, {
      reasons: ['spout'],
      type: 'https://authstack.dev/problems/teapot',
      title: 'I am a teapot',
      status: 418,
      detail: 'Short and stout.',
      code: 'teapot',
      request_id: 'req-0001-abcd',
    });
  });

  it('when a problem has a cause and extra members that name standard ones, then neither reaches the client', async () => {
    assertProblem(await problem('/teapot'), 418, 'teapot');
  });

  it('when no request id is known, then the body has no request_id member', async () => {
    const res = await problem('/teapot');
    assert.equal('request_id' in res.body, false);
  });

  it('when a dependency is down, then 503 service_unavailable with Retry-After and no internals', async () => {
    const res = await problem('/unavailable');
    assertProblem(res, 503, 'service_unavailable');
    assert.equal(res.headers.get('retry-after'), '5');
    assert.doesNotMatch(res.text, /postgres/);
  });

  it('when a route throws an unknown error, then a generic 500 internal_error without message or stack', async () => {
    const res = await problem('/crash', { headers: { 'x-request-id': 'req-0002-abcd' } });
    assertProblem(res, 500, 'internal_error');
    assert.equal(res.body.detail, 'An unexpected error occurred.');
    assert.deepEqual(Object.keys(res.body).sort(), RFC9457_MEMBERS);
    assert.equal(res.body.request_id, 'req-0002-abcd');
  });

  it('when an async route rejects with an error that is not exposable, then its status and code are not trusted', async () => {
    const res = await problem('/crash-async');
    assertProblem(res, 500, 'internal_error');
    assert.doesNotMatch(res.text, /ECONNREFUSED/);
  });

  it('when something that is not an Error is thrown, then a generic 500 internal_error', async () => {
    assertProblem(await problem('/thrown-string'), 500, 'internal_error');
  });

  it('when an error marks itself expose with status, code and title, then those are sent and not its message', async () => {
    const res = await problem('/exposed');
    assertProblem(res, 401, 'token_expired');
    assert.equal(res.body.title, 'Access token expired');
    assert.equal(res.body.detail, 'Access token expired');
  });

  it('when an exposable error lacks its title, then it is treated as unknown: 500 internal_error', async () => {
    assertProblem(await problem('/half-exposed'), 500, 'internal_error');
  });

  it('when an error is rendered, then the log hook gets the problem and the original error', async () => {
    logged.length = 0;
    await problem('/crash');
    const [entry] = logged;
    assert.equal(logged.length, 1);
    assert.equal(entry?.status, 500);
    assert.ok(entry?.original instanceof Error);
    assert.match(entry.original.message, /users_pkey/);
  });

  it('when the path is unknown, then 404 not_found', async () => {
    assertProblem(await problem('/no/such/path'), 404, 'not_found');
  });

  it('when the JSON body is malformed, then 400 malformed_json without the parser message', async () => {
    const res = await post('application/json', '{"password": "hunter2"');
    assertProblem(res, 400, 'malformed_json');
    assert.doesNotMatch(res.text, /hunter2|Unexpected|JSON at position/);
  });

  it('when the body is larger than the limit, then 413 payload_too_large', async () => {
    const res = await post('application/json', JSON.stringify({ padding: 'x'.repeat(2048) }));
    assertProblem(res, 413, 'payload_too_large');
  });

  it('when the body charset is unsupported, then 415 unsupported_encoding', async () => {
    const res = await post('application/json; charset=klingon', '{}');
    assertProblem(res, 415, 'unsupported_encoding');
  });

  it('when a body is sent as anything but JSON, then 415 unsupported_media_type before it is read', async () => {
    const res = await post('text/plain', 'username=alice');
    assertProblem(res, 415, 'unsupported_media_type');
  });

  it('when a JSON body is sent, then it passes through', async () => {
    const res = await post('application/json', '{"a":1}');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { a: 1 });
  });
});
