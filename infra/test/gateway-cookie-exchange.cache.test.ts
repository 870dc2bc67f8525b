/**
 * The gateway's cookie exchange cache (GATEWAY_COOKIE_EXCHANGE_CACHE, gateway.conf.template): auth's 200 answer to
 * an exchange is reused for the same cookie value within one window of the clock (1 s by default), and nothing else
 * is: not a 401 or 403, not an answer that rotates the cookie, not a state-changing request's, not one for a Cookie
 * header that names the session cookie twice; never after its window; nothing at all with the setting 0. The real
 * nginx and templates; auth is a stand-in that counts the exchanges it answers per cookie value and mints a token
 * naming that value, and the resource echoes the Authorization it receives.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { suiteScope } from '@authstack/testing';
import { Agent, fetch } from 'undici';
import { startTestGateway, testCerts } from '../../e2e/support.ts';
import type { Gateway } from '../nginx/local-gateway.ts';
import { renderGateway } from '../nginx/render.ts';

const COOKIE = '__Host-session';
/** A well-formed value (the real one is 87 base64url characters); each test's own, so no test sees another's entry. */
const newValue = () => randomBytes(65).toString('base64url');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits, when needed, until the clock is early in a second: what follows then happens within that second. */
async function startOfASecond(): Promise<void> {
  if (Date.now() % 1000 > 300) await sleep(1000 - (Date.now() % 1000) + 20);
}

describe("the gateway's cookie exchange cache", () => {
  const scope = suiteScope();
  /** Exchanges auth answered, per cookie value; and how it answers the next ones for a value. */
  const exchanges = new Map<string, number>();
  const answers = new Map<string, { status: number; setCookie?: string }>();
  let gateway: Gateway;
  let uncached: Gateway;
  let dispatcher: Agent;

  const asked = (value: string) => exchanges.get(value) ?? 0;

  before(async () => {
    const auth = createServer((req, res) => {
      req.resume();
      const value = /__Host-session=([^;]*)/.exec(req.headers.cookie ?? '')?.[1] ?? '';
      exchanges.set(value, asked(value) + 1);
      const answer = answers.get(value) ?? { status: 200 };
      // As auth answers: never cacheable for any other cache.
      const headers: Record<string, string> = { 'cache-control': 'no-store' };
      if (answer.status === 200) headers['x-session-authorization'] = `Bearer for-${value}-${asked(value)}`;
      if (answer.setCookie) headers['x-session-set-cookie'] = answer.setCookie;
      res.writeHead(answer.status, headers).end();
    });
    const resource = createServer((req, res) => {
      req.resume();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ authorization: req.headers.authorization ?? null }));
    });
    for (const server of [auth, resource]) {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      scope.defer(() => new Promise((resolve) => server.close(resolve)));
    }
    const certs = testCerts(scope);
    const upstreams = {
      authUpstream: `127.0.0.1:${(auth.address() as AddressInfo).port}`,
      resourceUpstream: `127.0.0.1:${(resource.address() as AddressInfo).port}`,
      certs,
    };
    gateway = await startTestGateway(scope, upstreams);
    uncached = await startTestGateway(scope, { ...upstreams, cookieExchangeCache: 0 });
    dispatcher = new Agent({ connect: { ca: readFileSync(certs.ca) } });
    scope.defer(() => dispatcher.close());
  });

  /** One request to the resource through `via` with `cookie` as the whole Cookie header. */
  async function call(cookie: string, init: { method?: string; via?: Gateway } = {}) {
    const res = await fetch(`${(init.via ?? gateway).httpsUrl}/api/protected`, {
      method: init.method ?? 'GET',
      headers: { cookie },
      dispatcher,
    });
    const text = await res.text();
    const body = (text ? JSON.parse(text) : {}) as { authorization?: string | null; code?: string };
    return { status: res.status, body, setCookies: res.headers.getSetCookie() };
  }

  it('when one cookie makes several requests within the window, then auth is asked once and every request reaches the resource with its token', async () => {
    const value = newValue();
    await startOfASecond();
    const from = Math.floor(Date.now() / 1000);
    const seen: (string | null | undefined)[] = [];
    for (let n = 0; n < 8; n++) {
      const res = await call(`${COOKIE}=${value}`);
      assert.equal(res.status, 200);
      seen.push(res.body.authorization);
    }
    // One exchange per window of the clock the requests fell in: one, unless the machine stalled past a second.
    const windows = Math.floor(Date.now() / 1000) - from + 1;
    assert.ok(asked(value) <= windows, `${asked(value)} exchanges for 8 requests in ${windows} window(s)`);
    assert.ok(
      seen.every((authorization) => authorization?.startsWith(`Bearer for-${value}-`)),
      'every request got the token of its own cookie',
    );
  });

  it('when two cookies are exchanged in the same window, then each request reaches the resource with the token of its own cookie', async () => {
    const [a, b] = [newValue(), newValue()];
    await startOfASecond();
    for (let n = 0; n < 3; n++) {
      assert.equal((await call(`${COOKIE}=${a}`)).body.authorization, `Bearer for-${a}-1`);
      assert.equal((await call(`${COOKIE}=${b}`)).body.authorization, `Bearer for-${b}-1`);
      // Other cookies beside it do not change the key: the session cookie's value is the key.
      assert.equal(
        (await call(`theme=dark; ${COOKIE}=${a}; lang=en`)).body.authorization,
        `Bearer for-${a}-1`,
      );
    }
  });

  it('when the window ends, then the next request asks auth again, however recently the answer was kept', async () => {
    const value = newValue();
    await startOfASecond();
    assert.equal((await call(`${COOKIE}=${value}`)).status, 200);
    assert.equal(asked(value), 1);
    // Just past the next second: an entry kept with proxy_cache_valid 1s alone would still be served here (nginx
    // counts its lifetime in whole seconds), for up to 2 s after it was kept. The window in the key ends it.
    await sleep(1000 - (Date.now() % 1000) + 50);
    const next = await call(`${COOKIE}=${value}`);
    assert.equal(next.status, 200);
    assert.equal(asked(value), 2);
    assert.equal(next.body.authorization, `Bearer for-${value}-2`);
  });

  for (const [status, code] of [
    [401, 'invalid_session'],
    [403, 'cross_site_request'],
  ] as const)
    it(`when auth answers ${status}, then that answer is not kept: the next request with the cookie asks auth again`, async () => {
      const value = newValue();
      answers.set(value, { status });
      await startOfASecond();
      for (let n = 1; n <= 2; n++) {
        const refused = await call(`${COOKIE}=${value}`);
        assert.equal(refused.status, status);
        assert.equal(refused.body.code, code);
        assert.equal(asked(value), n);
      }
      // The same cookie, now answered 200 by auth (say, a session that was being written): served at once.
      answers.delete(value);
      const allowed = await call(`${COOKIE}=${value}`);
      assert.equal(allowed.status, 200);
      assert.equal(asked(value), 3);
    });

  it('when auth rotates the cookie in its answer, then that answer is not kept, so its Set-Cookie reaches only the request it was made for', async () => {
    const value = newValue();
    const rotated = `${COOKIE}=${newValue()}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=7200`;
    answers.set(value, { status: 200, setCookie: rotated });
    await startOfASecond();
    const first = await call(`${COOKIE}=${value}`);
    assert.equal(first.status, 200);
    assert.deepEqual(first.setCookies, [rotated]);
    answers.delete(value);
    const second = await call(`${COOKIE}=${value}`);
    assert.equal(second.status, 200);
    assert.equal(asked(value), 2, 'the rotating answer was not kept');
    assert.deepEqual(second.setCookies, [], 'no Set-Cookie replayed');
    // The answer without a rotation is kept as usual.
    assert.deepEqual((await call(`${COOKIE}=${value}`)).setCookies, []);
    assert.equal(asked(value), 2);
  });

  it('when a state-changing request carries the cookie, then auth is always asked (its CSRF rule reads headers the key has not) and its answer is not kept', async () => {
    const value = newValue();
    await startOfASecond();
    assert.equal((await call(`${COOKIE}=${value}`)).status, 200);
    assert.equal(asked(value), 1);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const before = asked(value);
      await call(`${COOKIE}=${value}`, { method });
      assert.equal(asked(value), before + 1, `${method} asked auth`);
    }
    const other = newValue();
    await call(`${COOKIE}=${other}`, { method: 'POST' });
    assert.equal((await call(`${COOKIE}=${other}`)).status, 200);
    assert.equal(asked(other), 2, "a POST's answer is not served to a GET");
    assert.equal((await call(`${COOKIE}=${value}`, { method: 'HEAD' })).status, 200);
  });

  it('when a Cookie header names the session cookie twice, then nothing is kept for it (which one auth reads is auth’s to say)', async () => {
    const [a, b] = [newValue(), newValue()];
    await startOfASecond();
    for (let n = 1; n <= 2; n++) {
      assert.equal((await call(`${COOKIE}=${a}; ${COOKIE}=${b}`)).status, 200);
      assert.equal(asked(a), n);
    }
  });

  it('when the setting is 0, then every request asks auth', async () => {
    const value = newValue();
    await startOfASecond();
    for (let n = 1; n <= 4; n++) {
      const res = await call(`${COOKIE}=${value}`, { via: uncached });
      assert.equal(res.status, 200);
      assert.equal(asked(value), n);
      assert.equal(res.body.authorization, `Bearer for-${value}-${n}`);
    }
  });

  it('when the setting is not a window the template can cut (0, 1, 2, 5 or 10 s), then the native renderer refuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'authstack-render-'));
    try {
      for (const value of ['3', '1s', 'on', '-1'])
        assert.throws(
          () => renderGateway(dir, { GATEWAY_COOKIE_EXCHANGE_CACHE: value }),
          /GATEWAY_COOKIE_EXCHANGE_CACHE must be one of 0, 1, 2, 5, 10/,
          value,
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
