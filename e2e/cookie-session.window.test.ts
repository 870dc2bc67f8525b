/**
 * The cookie session's revocation window through the real gateway and auth: the gateway's cookie exchange cache
 * (GATEWAY_COOKIE_EXCHANGE_CACHE, 1 s by default) saves auth an exchange per request, and in exchange a logout reaches
 * the cookie path at most one window later (measured from logout's answer); with the setting 0 at once. Auth's own
 * routes and the logout itself see the revocation at once either way.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { type AuthFixture, STRONG_PASSWORD, username } from '@authstack/auth/testing';
import { suiteScope } from '@authstack/testing';
import { Agent, fetch } from 'undici';
import type { Gateway, makeCerts } from '../infra/nginx/local-gateway.ts';
import { cookieRevocationWindow } from '../infra/nginx/revocation-window.ts';
import { hostPort, resourceEnv, startGatewayPair, startTestGateway } from './support.ts';

/** Slack on top of the 1 s window for a busy machine: a poll's own latency, a late timer. */
const MARGIN_MS = 300;

describe("the cookie session's revocation window through the gateway", () => {
  const scope = suiteScope();
  let auth: AuthFixture;
  let certs: ReturnType<typeof makeCerts>;
  let gateway: Gateway;
  let uncached: Gateway;
  let dispatcher: Agent;

  before(async () => {
    let resourceUrl: string;
    ({
      auth,
      certs,
      gateway,
      resource: { url: resourceUrl },
    } = await startGatewayPair(scope, { resourceEnv }));
    uncached = await startTestGateway(scope, {
      authUpstream: hostPort(auth.url),
      resourceUpstream: hostPort(resourceUrl),
      certs,
      cookieExchangeCache: 0,
    });
    dispatcher = new Agent({ connect: { ca: readFileSync(certs.ca) } });
    scope.defer(() => dispatcher.close());
  });

  async function send(method: string, url: string, headers: Record<string, string> = {}, body?: unknown) {
    const res = await fetch(url, {
      method,
      dispatcher,
      headers: body ? { ...headers, 'content-type': 'application/json' } : headers,
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      setCookies: res.headers.getSetCookie(),
      body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
    };
  }

  async function newUser(): Promise<string> {
    const name = username('window');
    const res = await send(
      'POST',
      `${gateway.httpsUrl}/register`,
      {},
      { username: name, password: STRONG_PASSWORD },
    );
    assert.equal(res.status, 201);
    return name;
  }

  async function cookieOf(name: string): Promise<{ cookie: string }> {
    const login = await send(
      'POST',
      `${gateway.httpsUrl}/login`,
      {},
      { username: name, password: STRONG_PASSWORD },
    );
    assert.equal(login.status, 200);
    const pair = login.setCookies
      .map((line) => line.split(';')[0]!)
      .find((p) => p.startsWith('__Host-session='));
    assert.ok(pair);
    return { cookie: pair };
  }

  /** auth_cookie_exchange_total, every outcome: the exchanges auth answered. */
  async function exchanges(): Promise<number> {
    const text = await (await fetch(`${auth.url}/metrics`)).text();
    return [...text.matchAll(/^auth_cookie_exchange_total\{[^}]*\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
  }

  it('when a cookie session sends a burst of requests, then auth answers one exchange per window, not one per request', async () => {
    const headers = await cookieOf(await newUser());
    if (Date.now() % 1000 > 300)
      await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
    const before = await exchanges();
    const from = Math.floor(Date.now() / 1000);
    for (let n = 0; n < 10; n++)
      assert.equal((await send('GET', `${gateway.httpsUrl}/protected`, headers)).status, 200);
    const windows = Math.floor(Date.now() / 1000) - from + 1;
    const asked = (await exchanges()) - before;
    assert.ok(asked >= 1 && asked <= windows, `${asked} exchanges for 10 requests in ${windows} window(s)`);

    // With the setting 0, every request is an exchange.
    const uncachedBefore = await exchanges();
    for (let n = 0; n < 5; n++)
      assert.equal((await send('GET', `${uncached.httpsUrl}/protected`, headers)).status, 200);
    assert.equal((await exchanges()) - uncachedBefore, 5);
  });

  it('when a cookie session logs out through the gateway, then the old cookie gets 401 within 1 s of the answer, and never a 200 after', async () => {
    const name = await newUser();
    // The worst case for a 1 s window: the gateway kept the exchange's answer early in a second of the clock.
    const measured = await cookieRevocationWindow({
      baseUrl: gateway.httpsUrl,
      ca: readFileSync(certs.ca),
      username: name,
      password: STRONG_PASSWORD,
      early: true,
    });
    assert.ok(measured.windowMs <= 1000 + MARGIN_MS, `window ${measured.windowMs} ms`);
    assert.equal(measured.acceptedAfter, 0, 'no 200 after the first 401');
  });

  it('when a cookie session logs out, then the logout itself and auth’s own routes refuse the old cookie at once, whatever the gateway still holds', async () => {
    const headers = await cookieOf(await newUser());
    assert.equal((await send('GET', `${gateway.httpsUrl}/protected`, headers)).status, 200);
    const logout = await send('POST', `${gateway.httpsUrl}/logout`, headers);
    assert.equal(logout.status, 200);
    assert.match(logout.setCookies.join('\n'), /__Host-session=;.*Max-Age=0/, 'the logout clears the cookie');
    const me = await send('GET', `${gateway.httpsUrl}/auth/me`, headers);
    assert.equal(me.status, 401);
    assert.equal(me.body.code, 'invalid_session');
  });

  it('when the setting is 0, then the old cookie is refused by the first request after logout', async () => {
    const name = await newUser();
    const measured = await cookieRevocationWindow({
      baseUrl: uncached.httpsUrl,
      ca: readFileSync(certs.ca),
      username: name,
      password: STRONG_PASSWORD,
      confirmMs: 200,
    });
    assert.equal(measured.acceptedBefore, 0);
    assert.equal(measured.acceptedAfter, 0);
  });
});
