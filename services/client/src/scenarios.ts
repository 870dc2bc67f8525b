/**
 * End-to-end scenarios through the gateway: the original tutorial's checks (on its alias paths), its first client's
 * cookie session (login, protected, cross-site POST, logout, the old cookie), and the stack's own (refresh
 * rotation, reuse, logout-all, login limit, revocation). Each returns expected/got; the runner
 * prints a table and fails when any scenario fails.
 */
import { randomBytes } from 'node:crypto';
import { AuthClient, type AuthClientOptions, type RawResponse } from './sdk.ts';

export interface ScenarioResult {
  name: string;
  expected: string;
  got: string;
  ms: number;
  pass: boolean;
}

export interface ScenarioOptions extends Omit<AuthClientOptions, 'tokens' | 'onTokens'> {
  admin?: { username: string; password: string } | undefined;
  /** The resource service runs in VERIFY_MODE=session: a logout is seen at once. */
  sessionMode?: boolean;
}

type Check = { expected: string; got: string; pass: boolean };
type Body = Record<string, unknown>;

const status = (res: RawResponse, ...extra: string[]) => [String(res.status), ...extra].join(' ');
const expectStatus = (res: RawResponse, expected: number, code?: string): Check => {
  const got = status(res, (res.body.code as string | undefined) ?? '');
  const pass = res.status === expected && (code === undefined || res.body.code === code);
  return { expected: code ? `${expected} ${code}` : String(expected), got: got.trim(), pass };
};

const uniqueName = (stem: string) => `${stem}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const strongPassword = () => `pass-${randomBytes(12).toString('base64url')}`;

export async function runScenarios(options: ScenarioOptions): Promise<ScenarioResult[]> {
  const api = new AuthClient(options);
  const results: ScenarioResult[] = [];
  const step = async (name: string, run: () => Promise<Check>) => {
    const start = performance.now();
    let check: Check;
    try {
      check = await run();
    } catch (error) {
      check = { expected: '(no error)', got: (error as Error).message.slice(0, 60), pass: false };
    }
    results.push({ name, ...check, ms: Math.round(performance.now() - start) });
  };

  const username = uniqueName('alice');
  const password = strongPassword();
  let refresh = '';
  const credentials = { username, password };

  // --- the original tutorial, on its paths ---------------------------------------------------------------
  await step('register a new user', async () =>
    expectStatus(await api.call('POST', '/register', { body: credentials }), 201),
  );
  await step('register the same name again', async () =>
    expectStatus(
      await api.call('POST', '/register', { body: { username: username.toUpperCase(), password } }),
      409,
      'username_taken',
    ),
  );
  // The tutorial's /login opens a cookie session and answers the account only: its first client keeps the cookie.
  const seed = new AuthClient({ ...options, mode: 'cookie' });
  await step('login', async () => {
    const res = await seed.call<Body>('POST', '/login', { body: credentials });
    const check = expectStatus(res, 200);
    const kept = (seed.cookies['__Host-session'] ?? '').length > 0;
    return { ...check, pass: check.pass && res.body.message === `Welcome ${username}!` && kept };
  });
  await step('protected route with the session', async () => {
    const res = await seed.call<Body>('GET', '/protected');
    const check = expectStatus(res, 200);
    return {
      ...check,
      pass: check.pass && res.body.message === `You are viewing protected content, ${username}!`,
    };
  });
  await step('user on the admin panel', async () =>
    expectStatus(await seed.call('GET', '/admin'), 403, 'insufficient_scope'),
  );
  const adminSeed = new AuthClient({ ...options, mode: 'cookie' });
  await step('admin login', async () => {
    if (!options.admin) return { expected: '200', got: 'no admin credentials given', pass: false };
    return expectStatus(await adminSeed.call<Body>('POST', '/login', { body: options.admin }), 200);
  });
  await step('admin panel as admin', async () => {
    const res = await adminSeed.call<Body>('GET', '/admin');
    const check = expectStatus(res, 200);
    return {
      ...check,
      pass: check.pass && String(res.body.message).startsWith('Welcome to the admin panel'),
    };
  });
  await step('wrong password', async () =>
    expectStatus(
      await api.call('POST', '/login', { body: { username, password: `${password}-wrong` } }),
      401,
      'invalid_credentials',
    ),
  );
  await step('protected route without a token', async () =>
    expectStatus(await api.call('GET', '/protected'), 401, 'token_missing'),
  );
  await step('protected route with an invalid token', async () =>
    expectStatus(await api.call('GET', '/protected', { token: 'eyJhbGciOiJub25lIn0.e30.' }), 401),
  );

  // --- cookie sessions: the tutorial's first client, and a browser's ----------------------------------------
  const browser = new AuthClient({ ...options, mode: 'cookie' });
  let sessionCookie = '';
  await step('cookie login sets an __Host- session cookie', async () => {
    const res = await browser.call<Body>('POST', '/login', { body: credentials });
    const line = res.headers.getSetCookie().find((l) => l.startsWith('__Host-session=')) ?? '';
    sessionCookie = browser.cookies['__Host-session'] ?? '';
    const flags = ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/'].filter((f) =>
      line.toLowerCase().includes(f.toLowerCase()),
    );
    const check = expectStatus(res, 200);
    return {
      expected: '200 HttpOnly Secure SameSite=Strict Path=/',
      got: `${check.got} ${flags.join(' ')}`.trim(),
      pass: check.pass && flags.length === 4 && sessionCookie.length > 0,
    };
  });
  await step('protected route with the cookie alone', async () => {
    const res = await browser.call<Body>('GET', '/protected');
    const check = expectStatus(res, 200);
    return {
      ...check,
      pass: check.pass && res.body.message === `You are viewing protected content, ${username}!`,
    };
  });
  await step('cross-site POST with the cookie is refused', async () =>
    expectStatus(
      await browser.call('POST', '/logout', {
        headers: { origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' },
      }),
      403,
      'cross_site_request',
    ),
  );
  await step('cookie logout clears the cookie', async () => {
    const res = await browser.call('POST', '/logout');
    const check = expectStatus(res, 200);
    const cleared = browser.cookies['__Host-session'] === undefined;
    return {
      expected: '200, cookie cleared',
      got: `${check.got}, cookie ${cleared ? 'cleared' : 'kept'}`,
      pass: check.pass && cleared,
    };
  });
  await step('protected route after cookie logout', async () =>
    expectStatus(await browser.call('GET', '/protected'), 401, 'token_missing'),
  );
  // The gateway may serve what it exchanged for the cookie until its cache window ends (GATEWAY_COOKIE_EXCHANGE_CACHE,
  // 1 s by default, at most 10 s): the old cookie is asked for again until refused, within that bound. Within the
  // window a session-mode resource refuses the token the gateway kept (session_revoked); after it, the gateway does.
  await step('the old cookie is refused after logout', async () => {
    const deadline = Date.now() + 11_000;
    for (;;) {
      const res = await api.call('GET', '/protected', {
        headers: { cookie: `__Host-session=${sessionCookie}` },
      });
      if (res.status !== 200 || Date.now() > deadline) {
        const check = expectStatus(res, 401, 'invalid_session');
        return options.sessionMode && res.body.code === 'session_revoked' ? { ...check, pass: true } : check;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  // --- the stack's own ------------------------------------------------------------------------------------
  let rotated = '';
  await step('refresh rotates the refresh token', async () => {
    const login = await api.call<Body>('POST', '/auth/login', { body: credentials });
    refresh = String(login.body.refresh_token ?? '');
    const res = await api.call<Body>('POST', '/auth/refresh', { body: { refresh_token: refresh } });
    rotated = String(res.body.refresh_token ?? '');
    const check = expectStatus(res, 200);
    return { ...check, pass: check.pass && rotated.length > 0 && rotated !== refresh };
  });
  await step('a reused refresh token revokes the session', async () => {
    const reuse = await api.call('POST', '/auth/refresh', { body: { refresh_token: refresh } });
    const newest = await api.call('POST', '/auth/refresh', { body: { refresh_token: rotated } });
    const pass = reuse.status === 401 && reuse.body.code === 'invalid_grant' && newest.status === 401;
    return {
      expected: '401 invalid_grant, then 401',
      got: `${reuse.status} ${String(reuse.body.code)}, then ${newest.status}`,
      pass,
    };
  });
  await step('logout ends the session', async () => {
    const login = await api.call<Body>('POST', '/auth/login', { body: credentials });
    const out = await api.call('POST', '/logout', { token: String(login.body.access_token) });
    const after = await api.call('POST', '/auth/refresh', {
      body: { refresh_token: String(login.body.refresh_token) },
    });
    return {
      expected: '200, then refresh 401',
      got: `${out.status}, then refresh ${after.status}`,
      pass: out.status === 200 && after.status === 401,
    };
  });
  await step('logout-all ends every session', async () => {
    const first = await api.call<Body>('POST', '/auth/login', { body: credentials });
    const second = await api.call<Body>('POST', '/auth/login', { body: credentials });
    const all = await api.call<Body>('POST', '/auth/logout-all', { token: String(second.body.access_token) });
    const a = await api.call('POST', '/auth/refresh', {
      body: { refresh_token: String(first.body.refresh_token) },
    });
    const b = await api.call('POST', '/auth/refresh', {
      body: { refresh_token: String(second.body.refresh_token) },
    });
    return {
      expected: '200, then 401 and 401',
      got: `${all.status}, then ${a.status} and ${b.status}`,
      pass: all.status === 200 && a.status === 401 && b.status === 401,
    };
  });
  await step('revocation window of access tokens', async () => {
    const login = await api.call<Body>('POST', '/auth/login', { body: credentials });
    const token = String(login.body.access_token);
    await api.call('POST', '/auth/logout', { token });
    const res = await api.call('GET', '/api/protected', { token });
    return options.sessionMode ? expectStatus(res, 401, 'session_revoked') : expectStatus(res, 200);
  });
  await step('login limit: 6th failure is 429 with Retry-After', async () => {
    const victim = uniqueName('bob');
    await api.call('POST', '/auth/register', { body: { username: victim, password: strongPassword() } });
    let last: RawResponse | undefined;
    for (let i = 0; i < 6; i++) {
      last = await api.call('POST', '/auth/login', {
        body: { username: victim, password: 'definitely-wrong' },
      });
    }
    const retryAfter = Number(last!.headers.get('retry-after'));
    const check = expectStatus(last!, 429, 'too_many_attempts');
    return { ...check, got: `${check.got} Retry-After ${retryAfter}`, pass: check.pass && retryAfter > 0 };
  });

  return results;
}

export function formatTable(results: ScenarioResult[]): string {
  const rows = [
    ['scenario', 'expected', 'got', 'ms', 'result'],
    ...results.map((r) => [r.name, r.expected, r.got, String(r.ms), r.pass ? 'PASS' : 'FAIL']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const failed = results.filter((r) => !r.pass).length;
  return [
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    '',
    `${results.length - failed} passed, ${failed} failed`,
  ].join('\n');
}
