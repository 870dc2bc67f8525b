/**
 * The revocation window of a cookie session through the gateway, measured: the time from logout's answer to the first
 * 401 for a request with the old cookie. The gateway's cookie exchange cache (GATEWAY_COOKIE_EXCHANGE_CACHE) makes it
 * at most that many seconds; auth itself ends the session before it answers the logout. Used by the end-to-end test
 * (e2e/cookie-session.window.test.ts) and the bench (bench/run.ts).
 */
import { Agent, request } from 'node:https';

export interface RevocationWindow {
  /** Milliseconds from logout's 200 to the first 401 with the old cookie. */
  windowMs: number;
  /** Requests with the old cookie answered 200 after logout, before the first 401. */
  acceptedBefore: number;
  /** Requests with the old cookie answered other than 401 after the first 401, within `confirmMs` (must be 0). */
  acceptedAfter: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Logs a cookie session in through the gateway's `/login`, uses it once on `path` (so the gateway has its exchange
 * answer), logs it out through `/logout`, then sends `path` with the old cookie every `pollMs` until a 401, and on for
 * `confirmMs` more. With `early`, the first use falls early in a second of the clock (the worst case of a 1 s window).
 */
export async function cookieRevocationWindow(options: {
  baseUrl: string;
  ca: Buffer;
  username: string;
  password: string;
  path?: string;
  pollMs?: number;
  confirmMs?: number;
  /** Give up (throw) when no 401 came this long after logout. */
  timeoutMs?: number;
  early?: boolean;
}): Promise<RevocationWindow> {
  const { baseUrl, ca, path = '/protected', pollMs = 10, confirmMs = 1000, timeoutMs = 15_000 } = options;
  const agent = new Agent({ ca, keepAlive: true });
  const send = (method: string, to: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; setCookie: string[] }>((resolve, reject) => {
      const req = request(new URL(to, baseUrl), { method, headers, agent }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [] }),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
  try {
    const login = await send(
      'POST',
      '/login',
      { 'content-type': 'application/json' },
      JSON.stringify({ username: options.username, password: options.password }),
    );
    const pair = login.setCookie
      .map((line) => line.split(';')[0] ?? '')
      .find((p) => p.startsWith('__Host-session='));
    if (login.status !== 200 || !pair) throw new Error(`revocation window: login answered ${login.status}`);
    const cookie = { cookie: pair };
    if (options.early && Date.now() % 1000 > 100) await sleep(1000 - (Date.now() % 1000) + 5);
    const used = await send('GET', path, cookie);
    if (used.status !== 200)
      throw new Error(`revocation window: ${path} with the cookie answered ${used.status}`);
    const logout = await send('POST', '/logout', cookie);
    if (logout.status !== 200) throw new Error(`revocation window: logout answered ${logout.status}`);
    const loggedOut = performance.now();
    let acceptedBefore = 0;
    let refusedAt: number | undefined;
    while (refusedAt === undefined) {
      const { status } = await send('GET', path, cookie);
      if (status === 401) refusedAt = performance.now();
      else if (status === 200) acceptedBefore += 1;
      else throw new Error(`revocation window: ${path} with the old cookie answered ${status}`);
      if (refusedAt === undefined) {
        if (performance.now() - loggedOut > timeoutMs)
          throw new Error(`revocation window: no 401 within ${timeoutMs} ms of logout`);
        await sleep(pollMs);
      }
    }
    let acceptedAfter = 0;
    while (performance.now() - refusedAt < confirmMs) {
      await sleep(pollMs);
      if ((await send('GET', path, cookie)).status !== 401) acceptedAfter += 1;
    }
    return { windowMs: Math.round(refusedAt - loggedOut), acceptedBefore, acceptedAfter };
  } finally {
    agent.destroy();
  }
}
