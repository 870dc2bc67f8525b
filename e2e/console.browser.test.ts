/**
 * The study console in a real browser: Debian's chromium driven by playwright-core, against the native stack
 * (auth, a stateless and a session-mode resource) behind the real nginx gateway over HTTPS.
 *
 * Trust: chromium is started with `--ignore-certificate-errors-spki-list=<sha256 of the server key's SPKI>`, a
 * pin of this run's freshly made server key (only that key is accepted; chain errors for any other certificate
 * still fail), in a fresh `--user-data-dir` (chromium honours the pin only with one). Never
 * `--ignore-certificate-errors`. See docs/console.md.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type AuthFixture, STRONG_PASSWORD, username } from '@authstack/auth/testing';
import { eventually, suiteScope, useTempDir } from '@authstack/testing';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { Gateway, makeCerts } from '../infra/nginx/local-gateway.ts';
import { startGatewayStack } from './support.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Screenshots of every run (git-ignored); the README's is rewritten only with CONSOLE_README_SCREENSHOT=1. */
const SHOTS = join(ROOT, 'e2e/screenshots');
const README_SHOT = join(ROOT, 'docs/images/console.png');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN = { username: 'consoleadmin', password: 'keys to the console 42' };
/** Accounts seeded as `make seed` does (loadtest-000000 ...), so the admin view has more than a page to search. */
const SEEDED = 2_000;
const SEED_CLI = fileURLToPath(import.meta.resolve('@authstack/auth/cli/load-test-users'));

/** base64(sha256(SubjectPublicKeyInfo)) of the certificate's key: chromium's SPKI pin format. */
function spkiPin(certFile: string): string {
  const der = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

describe('the study console in chromium, through the HTTPS gateway', () => {
  const scope = suiteScope();
  let auth: AuthFixture;
  let certs: ReturnType<typeof makeCerts>;
  let gateway: Gateway;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  const learner = { username: username('learner'), password: STRONG_PASSWORD };
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  const seenTokens = new Set<string>();
  /** The seeded accounts' names, in name order (loadtest-000000 ...). */
  let seededNames: string[] = [];

  before(async () => {
    ({ auth, certs, gateway } = await startGatewayStack(scope, {
      env: {
        BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
        BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
        // A rotated key signs at once here, so the test can watch it go from published to signing.
        JWKS_MAX_AGE: '0',
        KEY_ACTIVATION_DELAY: '0',
      },
    }));
    // What `make seed` runs: the accounts straight into PostgreSQL, one bcrypt hash for all of them.
    const seeded = await promisify(execFile)(process.execPath, [SEED_CLI, 'seed', String(SEEDED)], {
      env: { ...auth.env, PATH: process.env.PATH },
      maxBuffer: 16 * 1024 * 1024,
    });
    seededNames = (JSON.parse(seeded.stdout) as { usernames: string[] }).usernames;
    assert.equal(seededNames.length, SEEDED);
    profile = useTempDir(scope, 'authstack-chromium');
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--ignore-certificate-errors-spki-list=${spkiPin(certs.cert)}`,
      ],
      viewport: { width: 1280, height: 1200 },
    });
    scope.defer(() => context.close());
    page = context.pages()[0] ?? (await context.newPage());
    // Every CSP refusal reaches the test: the DOM event (added before any page script runs) and chromium's own
    // console report. Failed fetches (401, 403) also log console errors; those are expected and not collected.
    await page.addInitScript(`document.addEventListener('securitypolicyviolation', (event) => {
      console.error('CSP violation: ' + event.violatedDirective + ' ' + event.blockedURI);
    });`);
    page.on('console', (message) => {
      const text = message.text();
      if (/CSP violation|Content Security Policy/i.test(text)) cspViolations.push(text);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('response', async (response) => {
      // Remember every token the page received, to look for it in storage later.
      if (!/\/auth\/(login|refresh)$/.test(response.url()) || response.status() !== 200) return;
      const body = (await response.json()) as { access_token: string; refresh_token: string };
      seenTokens.add(body.access_token);
      seenTokens.add(body.refresh_token);
    });
    mkdirSync(SHOTS, { recursive: true });
  });

  const text = async (selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();
  /** Wait until an element matching `selector` has text matching `pattern`. */
  const until = (selector: string, pattern: RegExp) =>
    page.locator(selector, { hasText: pattern }).first().waitFor();
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  /** Tokens stay in the page's memory: none in localStorage, sessionStorage or cookies, ever. */
  async function assertNothingStored(): Promise<void> {
    // A string, not a function: the test runner's transpiler would rename inner functions in ways the page lacks.
    const stored = (await page.evaluate(`(() => {
      const dump = (storage) =>
        Array.from({ length: storage.length }, (_, i) => storage.key(i) + '=' + storage.getItem(storage.key(i)));
      return { local: dump(localStorage), session: dump(sessionStorage), cookie: document.cookie };
    })()`)) as { local: string[]; session: string[]; cookie: string };
    assert.deepEqual(stored, { local: [], session: [], cookie: '' });
    assert.deepEqual(await context.cookies(), []);
    for (const token of seenTokens) assert.ok(!JSON.stringify(stored).includes(token));
  }

  async function login(credentials: { username: string; password: string }): Promise<void> {
    await page.fill('#username', credentials.username);
    await page.fill('#password', credentials.password);
    // Clear the status first, so that the wait below sees this login's message, not the previous one's.
    await page.evaluate(`document.getElementById('status').textContent = ''`);
    await page.press('#password', 'Enter'); // the keyboard submits the form
    await until('#status', new RegExp(`^Logged in as ${credentials.username};`));
  }

  it('when the console is opened, then it is served under a CSP without unsafe-inline or unsafe-eval', async () => {
    const response = await page.goto(`${gateway.httpsUrl}/console/`);
    assert.equal(response?.status(), 200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /(^|;)\s*script-src 'self'(;|$)/);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    await page.locator('html[data-ready="true"]').waitFor({ state: 'attached' });
    assert.deepEqual(cspViolations, []);
  });

  it('when a script tries to run inline code, then the CSP refuses it and the test sees the violation', async () => {
    await page.evaluate(`(() => {
      const script = document.createElement('script');
      script.textContent = 'document.title = "inline ran"';
      document.body.append(script);
    })()`);
    await eventually(async () => cspViolations.length > 0, 5000);
    assert.notEqual(await page.title(), 'inline ran');
    assert.ok(
      cspViolations.some((v) => /script-src/.test(v)),
      cspViolations.join('\n'),
    );
    cspViolations.length = 0; // the probe's own violation; the rest of the run must have none
  });

  it('when a learner registers and logs in, then the decoded token and its JWKS key are shown', async () => {
    await page.fill('#username', learner.username);
    await page.fill('#password', learner.password);
    await page.click('#register');
    await until('#account-result', /^201/);
    await login(learner);
    const claims = JSON.parse(await text('#token-claims')) as Record<string, unknown>;
    assert.equal(claims.username, learner.username);
    assert.equal(claims.iss, auth.config.issuer);
    assert.ok(typeof claims.exp === 'number' && typeof claims.sid === 'string');
    const header = JSON.parse(await text('#token-header')) as Record<string, unknown>;
    assert.equal(header.typ, 'at+jwt');
    await until('#jwks-key', /"kid"/); // filled when the page's JWKS fetch returns, after the claims
    assert.equal(JSON.parse(await text('#jwks-key')).kid, header.kid);
    assert.equal(await text('#kid'), header.kid);
    await until('#countdown', /\d+ s \(exp /);
    await assertNothingStored();
  });

  it('when the protected resource is called in both modes, then both answer 200', async () => {
    await page.click('#call-both');
    await until('#session-status', /^\d{3}$/);
    assert.equal(await text('#stateless-status'), '200');
    assert.equal(await text('#session-status'), '200');
  });

  it('when the current token is explained, then every step passed', async () => {
    await page.click('#explain');
    await until('#explain-verdict', /^accepted/);
    const outcomes = await page
      .locator('#explain-steps li[data-step]')
      .evaluateAll((items) => items.map((item) => item.className));
    assert.equal(outcomes.length, 10);
    assert.ok(outcomes.every((outcome) => outcome === 'passed'));
  });

  const forgeries: [string, string, string | undefined][] = [
    ['alg-none', 'algorithm_not_allowed', '401 algorithm_not_allowed'],
    ['hs256-public-key', 'algorithm_not_allowed', '401 algorithm_not_allowed'],
    ['edited-payload', 'signature_invalid', '401 signature_invalid'],
    ['expired', 'token_expired', undefined],
    ['wrong-audience', 'audience_invalid', undefined],
    ['unknown-kid', 'key_unknown', '401 key_unknown'],
  ];
  for (const [forgery, code, resource] of forgeries) {
    it(`when the ${forgery} forgery is built, then it is refused with ${code}`, async () => {
      await page.click(`button[data-forgery="${forgery}"]`);
      const row = page.locator(`#forgeries tr[data-forgery="${forgery}"]`);
      await row.waitFor();
      assert.equal(await row.locator('td.explained').textContent(), `refused: ${code}`);
      if (resource) assert.equal((await row.locator('td.resource').textContent())?.trim(), resource);
    });
  }

  it('when the refresh token is rotated, then the old one is refused', async () => {
    await shot('01-forgeries');
    await page.click('#refresh');
    await page.locator('#rotation-log li').first().waitFor();
    await page.click('#old-refresh');
    await page.locator('#rotation-log li').nth(1).waitFor();
    assert.match(await text('#rotation-log li:last-child'), /401 invalid_grant/);
    await assertNothingStored();
  });

  it('when a session is revoked from the list, then it is gone and the current one stays', async () => {
    await login(learner); // the reuse above ended the previous session: two fresh ones
    await login(learner);
    await page.click('#list-sessions');
    await page.locator('#sessions tr').nth(1).waitFor();
    assert.equal(await page.locator('#sessions tr').count(), 2);
    const other = page.locator('#sessions tr[data-current="false"]');
    const otherId = await other.getAttribute('data-session');
    await other.getByRole('button', { name: /^Revoke session/ }).press('Enter');
    await page.locator(`#sessions tr[data-session="${otherId}"]`).waitFor({ state: 'detached' });
    assert.equal(await page.locator('#sessions tr').count(), 1);
    assert.notEqual(await page.locator('#sessions tr').getAttribute('data-session'), otherId);
    assert.match(await text('#sessions tr'), /yes \(this page\)/);
  });

  it('when the learner logs out, then stateless still answers 200 and session-checked 401 at once', async () => {
    await page.click('#logout');
    await until('#status', /^Logged out/);
    await page.click('#call-both');
    await until('#session-status', /^401$/);
    assert.equal(await text('#stateless-status'), '200');
    assert.match(await text('#session-detail'), /^session_revoked/);
    await until('#window', /still accepts/);
    await page.click('#stats');
    await until('#ratio-stateless', /%/);
    assert.match(await text('#stats-stateless'), /valid: \d+/);
    assert.match(await text('#stats-session'), /session check revoked: 1/);
    await shot('03-revocation-window');
    if (process.env.CONSOLE_README_SCREENSHOT === '1') {
      // The README's picture: both modes after logout, the explanation and the forgeries, in one screen.
      await page.evaluate(`document.getElementById('h-modes').scrollIntoView()`);
      mkdirSync(join(ROOT, 'docs/images'), { recursive: true });
      writeFileSync(README_SHOT, await page.screenshot({ fullPage: false }));
    }
    await assertNothingStored();
  });

  it('when an admin logs in, then the users list shows the learner, a rotated key appears in the JWKS then signs, and a disable shows', async () => {
    await login(ADMIN);
    await page.click('#list-users');
    await page.locator(`#users tr[data-user="${learner.username}"]`).waitFor();
    assert.match(await text(`#users tr[data-user="${learner.username}"]`), /user/);
    await page.click('#list-events');
    await page.locator('#events tr').first().waitFor();
    await page.click('#show-jwks');
    await until('#jwks li', /signed the current access token/);
    const keysBefore = await page.locator('#jwks li').count();
    await page.click('#rotate-key');
    await until('#admin-result', /^202: key \S+ staged/);
    await page.locator('#jwks li').nth(keysBefore).waitFor(); // the staged key is published at once
    const staged = /key (\S+) staged/.exec(await text('#admin-result'))?.[1];
    assert.ok(staged);
    assert.notEqual(await text('#kid'), staged);
    await eventually(async () => {
      // One refresh at a time (a second one in flight would present a rotated token: reuse), each awaited.
      const refreshed = page.waitForResponse((r) => r.url().endsWith('/.well-known/jwks.json'));
      await page.click('#refresh'); // a new access token: signed by the new key once it is active
      await refreshed; // the page fetches the JWKS after it has shown the new token
      return (await text('#kid')) === staged;
    }, 10_000);
    const learnerRow = page.locator(`#users tr[data-user="${learner.username}"]`);
    await learnerRow.getByRole('button', { name: `Disable ${learner.username}` }).click();
    await until(`#users tr[data-user="${learner.username}"] td:nth-child(3)`, /^yes$/);
    await shot('04-admin');
    await assertNothingStored();
  });

  /** Wait for the users table's caption line; on a timeout, say what the page showed and the last admin answer. */
  async function usersShown(pattern: RegExp): Promise<void> {
    try {
      await until('#users-page', pattern);
    } catch (error) {
      throw new Error(
        `the users page never matched ${pattern}: it says "${await text('#users-page')}", the last admin call "${await text('#admin-result')}"`,
        { cause: error },
      );
    }
  }

  it('when 2,000 more accounts exist, then the admin finds one by name and another by paging forward and back', async () => {
    // By name: typed as a user might, normalised by the API as at login; exactly that account is shown.
    const wanted = seededNames[1234]!;
    await page.fill('#user-search', wanted.toUpperCase());
    await page.press('#user-search', 'Enter');
    await usersShown(/^1 account named/);
    assert.deepEqual(await page.locator('#users tr').evaluateAll((rows) => rows.map((r) => r.dataset.user)), [
      wanted,
    ]);
    assert.ok(await page.locator('#users-next').isDisabled());
    await page.fill('#user-search', 'nobody-by-this-name');
    await page.press('#user-search', 'Enter');
    await usersShown(/^no account named/);
    assert.equal(await page.locator('#users tr').count(), 0);

    // By pages: in name order the admin and the learner come first, then the seeded accounts, 50 a page.
    const target = seededNames[1500]!; // the 1,503rd name: page 31
    await page.click('#list-users');
    await usersShown(/^page 1: accounts 1–50$/);
    assert.ok(await page.locator('#users-prev').isDisabled());
    let pages = 1;
    while ((await page.locator(`#users tr[data-user="${target}"]`).count()) === 0) {
      assert.ok(pages < 41, `${target} was not on any of the first ${pages} pages`);
      await page.click('#users-next');
      pages += 1;
      await usersShown(new RegExp(`^page ${pages}:`));
    }
    assert.equal(pages, 31);
    assert.equal(await text('#users-page'), 'page 31: accounts 1501–1550');
    assert.equal(await page.locator('#users tr').count(), 50);
    await page.click('#users-prev');
    await usersShown(/^page 30: accounts 1451–1500$/);
    assert.equal(await page.locator('#users tr').first().getAttribute('data-user'), seededNames[1448]);
    assert.equal(await page.locator('#users tr').last().getAttribute('data-user'), seededNames[1497]);
    // A change made on a later page keeps the admin on that page.
    await page.click('#users-next');
    await usersShown(/^page 31:/);
    await page.getByRole('button', { name: `Disable ${target}` }).click();
    await until(`#users tr[data-user="${target}"] td:nth-child(3)`, /^yes$/);
    assert.equal(await text('#users-page'), 'page 31: accounts 1501–1550');
    await assertNothingStored();
  });

  it('when an admin change and the list after it each get no answer once, then the page tries them again and the change shows', async () => {
    // What chromium does to requests in flight when the machine's network changes (an interface comes or goes, as
    // when containers start): the connection is dropped and fetch rejects. Here the first try of each fails.
    await page.click('#list-users');
    await usersShown(/^page 1:/);
    const target = seededNames[1]!;
    const tries = { PATCH: 0, GET: 0 };
    await page.route('**/auth/admin/users**', (route) => {
      const method = route.request().method() as 'PATCH' | 'GET';
      tries[method] = (tries[method] ?? 0) + 1;
      return tries[method] === 1 ? route.abort('connectionclosed') : route.fallback();
    });
    try {
      await page.getByRole('button', { name: `Disable ${target}` }).click();
      await until(`#users tr[data-user="${target}"] td:nth-child(3)`, /^yes$/);
    } finally {
      await page.unroute('**/auth/admin/users**');
    }
    assert.deepEqual(tries, { PATCH: 2, GET: 2 });
    assert.match(await text('#admin-result'), /^200 /);
  });

  it('when an admin change never gets an answer, then after its retries the admin result says so and the page raises no error', async () => {
    const target = seededNames[0]!;
    let tries = 0;
    await page.route('**/auth/admin/users/*', (route) => {
      if (route.request().method() !== 'PATCH') return route.fallback();
      tries += 1;
      return route.abort('connectionreset');
    });
    try {
      await page.getByRole('button', { name: `Make admin ${target}` }).click();
      await until('#admin-result', /^Error: Failed to fetch$/);
    } finally {
      await page.unroute('**/auth/admin/users/*');
    }
    assert.equal(tries, 3);
    assert.equal(await text(`#users tr[data-user="${target}"] td:nth-child(2)`), 'user');
  });

  it('when a key rotation (a POST) gets no answer, then it is not sent again and the admin result says so', async () => {
    let tries = 0;
    await page.route('**/auth/admin/keys/rotate', (route) => {
      tries += 1;
      return route.abort('connectionreset');
    });
    try {
      await page.click('#rotate-key');
      await until('#admin-result', /^Error: Failed to fetch$/);
    } finally {
      await page.unroute('**/auth/admin/keys/rotate');
    }
    assert.equal(tries, 1);
  });

  it('when the run is over, then no CSP violation and no page error happened', () => {
    assert.deepEqual(cspViolations, []);
    assert.deepEqual(pageErrors, []);
  });
});
