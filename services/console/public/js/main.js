// @ts-check
/**
 * The study console (docs/console.md). Plain ES modules, type-checked by tsc (checkJs); no build step.
 * Tokens are held in the variables below and nowhere else: a reload forgets them.
 */
import { decode, forgeAlgNone, forgeEditedPayload, forgeHs256WithPublicKey, forgeUnknownKid } from './jwt.js';

/** @typedef {{ status: number, body: any }} Answer */

/** In memory only. */
const state = {
  /** @type {string | undefined} */ access: undefined,
  /** @type {string | undefined} */ refresh: undefined,
  /** @type {string | undefined} the refresh token before the last rotation */ oldRefresh: undefined,
  /** @type {number | undefined} seconds since the epoch */ exp: undefined,
  /** @type {number | undefined} when this page logged out */ loggedOutAt: undefined,
  /** @type {number[]} */ loginTimes: [],
};

/** @param {string} id */
function el(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} missing`);
  return node;
}

/** @param {string} id @param {string} text */
const say = (id, text) => {
  el(id).textContent = text;
};

/** @param {string} id @returns {HTMLButtonElement} */
const button = (id) => /** @type {HTMLButtonElement} */ (el(id));

/** Waits before each further try of a request that got no answer (see `call`). */
const RETRY_DELAYS_MS = [250, 1000];

/**
 * One call to the API through the gateway; problem+json bodies are read the same way as success bodies.
 *
 * A request that got no answer at all (`fetch` rejects: the connection was closed, or the browser dropped its
 * connections because the machine's network changed, as chromium does when an interface comes or goes) is tried
 * again, twice at most, when repeating it cannot do more than doing it once: GET, HEAD, DELETE, and a PATCH that sets
 * values (`options.idempotent`). A POST (login, refresh, rotation, logout) is never repeated: a refresh token sent
 * twice is reuse, and ends the session. An answer, whatever its status, is never retried.
 * @param {string} method @param {string} path
 * @param {{ body?: unknown, token?: string, idempotent?: boolean }} [options]
 * @returns {Promise<Answer>}
 */
async function call(method, path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const repeatable = options.idempotent ?? ['GET', 'HEAD', 'DELETE'].includes(method);
  const send = () =>
    fetch(path, {
      method,
      headers,
      credentials: 'omit',
      cache: 'no-store',
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
  let response;
  for (let attempt = 0; ; attempt++) {
    try {
      response = await send();
      break;
    } catch (error) {
      const delay = RETRY_DELAYS_MS[attempt];
      if (!repeatable || delay === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { detail: text };
  }
  return { status: response.status, body };
}

/** `code: detail` of a problem, or the success message. @param {Answer} answer */
function describe(answer) {
  if (answer.status < 400) return answer.body.message ?? 'ok';
  return `${answer.body.code ?? 'error'}: ${answer.body.detail ?? answer.body.title ?? ''}`;
}

/** @param {string} id @param {Answer} answer */
const report = (id, answer) => say(id, `${answer.status} ${describe(answer)}`);

function credentials() {
  return {
    username: /** @type {HTMLInputElement} */ (el('username')).value,
    password: /** @type {HTMLInputElement} */ (el('password')).value,
  };
}

function setLoggedIn(/** @type {boolean} */ yes) {
  for (const id of ['refresh', 'logout']) button(id).disabled = !yes;
  button('old-refresh').disabled = state.oldRefresh === undefined;
}

/** A login or refresh answer: keep the tokens, show the token. @param {any} body */
async function took(body) {
  state.access = body.access_token;
  state.refresh = body.refresh_token;
  state.loggedOutAt = undefined;
  setLoggedIn(true);
  say('status', `Logged in as ${body.user?.username ?? 'you'}; tokens held in this page's memory only.`);
  await showToken();
}

async function showToken() {
  if (!state.access) return;
  const { header, claims, signature } = decode(state.access);
  state.exp = typeof claims.exp === 'number' ? claims.exp : undefined;
  say('token-header', JSON.stringify(header, null, 2));
  say('token-claims', JSON.stringify(claims, null, 2));
  say('token-signature', `${signature}\n(${header.alg}, ${Math.round((signature.length * 3) / 4)} bytes)`);
  say('kid', String(header.kid));
  /** @type {HTMLTextAreaElement} */ (el('explain-token')).value = state.access;
  const jwks = await call('GET', '/.well-known/jwks.json');
  const key = (jwks.body.keys ?? []).find((/** @type {any} */ k) => k.kid === header.kid);
  say('jwks-key', key ? JSON.stringify(key, null, 2) : `no key with kid ${header.kid} in the JWKS`);
}

function tick() {
  const now = Date.now() / 1000;
  if (state.exp === undefined) return;
  const left = Math.max(0, Math.floor(state.exp - now));
  say('countdown', left > 0 ? `${left} s (exp ${new Date(state.exp * 1000).toISOString()})` : 'expired');
  if (state.loggedOutAt !== undefined) {
    say(
      'window',
      left > 0
        ? `logged out; a stateless resource still accepts this token for ${left} s more (plus the verifier's leeway), a session-checked one refuses it now (a cookie session through the gateway: within the window of its exchange cache, 1 s by default)`
        : 'closed: the token has expired, every resource refuses it',
    );
  }
}

async function login() {
  const started = performance.now();
  const answer = await call('POST', '/auth/login', { body: credentials() });
  const ms = Math.round(performance.now() - started);
  report('account-result', answer);
  if (answer.status !== 200) return;
  state.loginTimes.push(ms);
  say('login-time', `${ms} ms`);
  say('login-times', state.loginTimes.map((t) => `${t} ms`).join(', '));
  state.oldRefresh = undefined;
  await took(answer.body);
}

async function register() {
  report('account-result', await call('POST', '/auth/register', { body: credentials() }));
}

async function refresh() {
  if (!state.refresh) return;
  const before = state.refresh;
  const answer = await call('POST', '/auth/refresh', { body: { refresh_token: before } });
  report('account-result', answer);
  if (answer.status !== 200) return;
  state.oldRefresh = before;
  const item = document.createElement('li');
  item.textContent = `rotated: …${before.slice(-8)} → …${String(answer.body.refresh_token).slice(-8)} (the old one is now refused)`;
  el('rotation-log').append(item);
  await took(answer.body);
}

async function tryOldRefresh() {
  if (!state.oldRefresh) return;
  const answer = await call('POST', '/auth/refresh', { body: { refresh_token: state.oldRefresh } });
  report('account-result', answer);
  const item = document.createElement('li');
  item.textContent = `old refresh token presented again: ${answer.status} ${describe(answer)} (reuse revokes the whole session)`;
  el('rotation-log').append(item);
}

async function logout() {
  if (!state.access) return;
  const answer = await call('POST', '/auth/logout', { token: state.access });
  report('account-result', answer);
  if (answer.status !== 200) return;
  // The access token is kept on purpose, to show the revocation window; the refresh token is dead.
  state.refresh = undefined;
  state.loggedOutAt = Date.now() / 1000;
  setLoggedIn(false);
  say('status', 'Logged out. The access token is kept in memory to show the revocation window.');
  tick();
}

async function callBoth() {
  const [stateless, session] = await Promise.all([
    call('GET', '/api/protected', { token: state.access ?? '' }),
    call('GET', '/api-session/protected', { token: state.access ?? '' }),
  ]);
  say('stateless-status', String(stateless.status));
  say('stateless-detail', describe(stateless));
  say('session-status', String(session.status));
  say('session-detail', describe(session));
}

/**
 * @param {string} token
 * @param {{ at?: number, audience?: string }} [options]
 */
async function explainToken(token, options = {}) {
  return call('POST', '/api/explain', { body: { token, ...options } });
}

/** @param {Answer} answer @param {string} what the token explained, in words */
function showExplanation(answer, what) {
  const list = el('explain-steps');
  list.replaceChildren();
  if (answer.status !== 200) {
    say('explain-verdict', `${answer.status} ${describe(answer)}`);
    return;
  }
  const x = answer.body.explanation;
  const verdict = x.valid
    ? `accepted by the ${answer.body.mode} verifier (cache hit now: ${x.cacheHit ? 'yes' : 'no'})`
    : `refused: ${x.code}${x.claim ? ` (claim ${x.claim}: ${x.reason})` : ''}`;
  say('explain-verdict', `${verdict}. Explained: ${what}.`);
  const cache = document.createElement('li');
  cache.className = 'passed';
  cache.textContent = `cache: ${x.cacheHit ? 'hit, verify() would answer from the verified-token cache' : 'miss, verify() would run every step below'}`;
  list.append(cache);
  for (const step of x.steps) {
    const item = document.createElement('li');
    item.className = step.outcome;
    item.dataset.step = step.step;
    item.textContent = `${step.step}: ${step.outcome.replace('_', ' ')}: ${step.detail}${step.code ? ` [${step.code}]` : ''}`;
    list.append(item);
  }
}

async function explain() {
  const token = /** @type {HTMLTextAreaElement} */ (el('explain-token')).value.trim();
  showExplanation(await explainToken(token), 'the token in the box');
}

/** @type {Record<string, (token: string) => Promise<{ token: string, options?: { at?: number, audience?: string }, call: boolean }>>} */
const FORGERIES = {
  'alg-none': async (token) => ({ token: forgeAlgNone(token), call: true }),
  'hs256-public-key': async (token) => {
    const { header } = decode(token);
    const jwks = await call('GET', '/.well-known/jwks.json');
    const jwk = (jwks.body.keys ?? []).find((/** @type {any} */ k) => k.kid === header.kid);
    return { token: await forgeHs256WithPublicKey(token, jwk), call: true };
  },
  'edited-payload': async (token) => ({ token: forgeEditedPayload(token), call: true }),
  // A real token cannot be re-signed with a later exp; the explanation judges it at an instant after exp.
  expired: async (token) => {
    const exp = Number(decode(token).claims.exp);
    return { token, options: { at: exp + 3600 }, call: false };
  },
  // The same real token, judged by a service whose audience is another API's.
  'wrong-audience': async (token) => ({ token, options: { audience: 'another-api' }, call: false }),
  'unknown-kid': async (token) => ({ token: await forgeUnknownKid(token), call: true }),
};

/** @param {HTMLButtonElement} source */
async function forge(source) {
  const name = source.dataset.forgery ?? '';
  const build = FORGERIES[name];
  if (!state.access || !build) {
    say('explain-verdict', 'Log in first: the forgeries are built from the current token.');
    return;
  }
  const forged = await build(state.access);
  /** @type {HTMLTextAreaElement} */ (el('explain-token')).value = forged.token;
  const explained = await explainToken(forged.token, forged.options);
  const x = explained.body.explanation;
  const row = document.createElement('tr');
  row.dataset.forgery = name;
  const cells = [
    source.textContent ?? name,
    explained.status === 200
      ? x.valid
        ? 'accepted'
        : `refused: ${x.code}`
      : `${explained.status} ${describe(explained)}`,
    'not sent (a real token judged under other conditions)',
  ];
  if (forged.call) {
    const answer = await call('GET', '/api/protected', { token: forged.token });
    cells[2] = `${answer.status} ${answer.body.code ?? ''}`;
  }
  for (const [index, text] of cells.entries()) {
    const cell = document.createElement(index === 0 ? 'th' : 'td');
    if (index === 0) cell.setAttribute('scope', 'row');
    if (index === 1) cell.className = 'explained';
    if (index === 2) cell.className = 'resource';
    cell.textContent = text;
    row.append(cell);
  }
  el('forgeries').querySelector(`tr[data-forgery="${name}"]`)?.remove();
  el('forgeries').append(row);
  showExplanation(explained, `the "${source.textContent}" forgery`);
}

async function listSessions() {
  const answer = await call('GET', '/auth/sessions', { token: state.access ?? '' });
  const body = el('sessions');
  body.replaceChildren();
  if (answer.status !== 200) return report('sessions-result', answer);
  say('sessions-result', `${answer.body.sessions.length} live session(s)`);
  for (const session of answer.body.sessions) {
    const row = document.createElement('tr');
    row.dataset.session = session.id;
    row.dataset.current = String(Boolean(session.current));
    for (const text of [
      session.id,
      session.created_at,
      session.last_used_at,
      session.user_agent ?? '',
      session.current ? 'yes (this page)' : 'no',
    ]) {
      const cell = document.createElement('td');
      cell.textContent = String(text);
      row.append(cell);
    }
    const action = document.createElement('td');
    const revoke = document.createElement('button');
    revoke.type = 'button';
    revoke.textContent = 'Revoke';
    revoke.setAttribute('aria-label', `Revoke session ${session.id}`);
    revoke.addEventListener('click', async () => {
      const done = await call('DELETE', `/auth/sessions/${encodeURIComponent(session.id)}`, {
        token: state.access ?? '',
      });
      report('sessions-result', done);
      if (done.status === 200) await listSessions();
    });
    action.append(revoke);
    row.append(action);
    body.append(row);
  }
}

async function logoutAll() {
  const answer = await call('POST', '/auth/logout-all', { token: state.access ?? '' });
  report('sessions-result', answer);
  if (answer.status === 200) {
    state.refresh = undefined;
    state.loggedOutAt = Date.now() / 1000;
    setLoggedIn(false);
  }
}

const USERS_PER_PAGE = 50;

/**
 * Where the users table is. The API's cursor only goes forward, so the page keeps the cursor of every page it has
 * shown: Next pushes the answer's `next_cursor`, Previous pops back to the one before.
 */
const users = {
  /** @type {(string | undefined)[]} the cursor of each page shown so far; the last is the current page */
  cursors: [undefined],
  /** @type {string | null} */ next: null,
  /** @type {string | undefined} a name looked up with ?username= instead of a page */ search: undefined,
};

/** The first page of every account, by name. */
async function listUsers() {
  users.cursors = [undefined];
  users.search = undefined;
  await showUsers();
}

/** One account by its exact name (the API normalises it as at login); an empty name lists everyone. */
async function findUser() {
  const name = /** @type {HTMLInputElement} */ (el('user-search')).value.trim();
  if (!name) return listUsers();
  users.cursors = [undefined];
  users.search = name;
  await showUsers();
}

async function nextUsers() {
  if (!users.next) return;
  users.cursors.push(users.next);
  await showUsers();
}

async function previousUsers() {
  if (users.cursors.length <= 1) return;
  users.cursors.pop();
  await showUsers();
}

/** Fetch and show the current page (or the search), with the paging buttons to match. */
async function showUsers() {
  const query = new URLSearchParams({ limit: String(USERS_PER_PAGE) });
  const cursor = users.cursors.at(-1);
  if (users.search !== undefined) query.set('username', users.search);
  else if (cursor) query.set('cursor', cursor);
  const answer = await call('GET', `/auth/admin/users?${query}`, { token: state.access ?? '' });
  report('admin-result', answer);
  const body = el('users');
  body.replaceChildren();
  users.next = answer.status === 200 ? answer.body.next_cursor : null;
  button('users-next').disabled = !users.next;
  button('users-prev').disabled = users.cursors.length <= 1;
  if (answer.status !== 200) {
    say('users-page', '');
    return;
  }
  const shown = answer.body.users.length;
  const first = (users.cursors.length - 1) * USERS_PER_PAGE + 1;
  say(
    'users-page',
    users.search !== undefined
      ? shown
        ? `1 account named "${users.search}"`
        : `no account named "${users.search}"`
      : `page ${users.cursors.length}: accounts ${shown ? `${first}–${first + shown - 1}` : 'none'}${users.next ? '' : ' (the last page)'}`,
  );
  for (const user of answer.body.users) {
    const row = document.createElement('tr');
    row.dataset.user = user.username;
    for (const text of [user.username, user.roles.join(', '), user.disabled ? 'yes' : 'no']) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    const actions = document.createElement('td');
    const isAdmin = user.roles.includes('admin');
    /** @type {[string, unknown][]} */
    const changes = [
      [isAdmin ? 'Remove admin' : 'Make admin', { roles: isAdmin ? ['user'] : ['user', 'admin'] }],
      [user.disabled ? 'Enable' : 'Disable', { disabled: !user.disabled }],
    ];
    for (const [label, patch] of changes) {
      const change = document.createElement('button');
      change.type = 'button';
      change.textContent = label;
      change.setAttribute('aria-label', `${label} ${user.username}`);
      change.addEventListener(
        'click',
        guarded(async () => {
          // The patch sets values (roles, disabled): sending it twice leaves what sending it once does.
          const done = await call('PATCH', `/auth/admin/users/${encodeURIComponent(user.id)}`, {
            token: state.access ?? '',
            body: patch,
            idempotent: true,
          });
          report('admin-result', done);
          if (done.status === 200) await showUsers(); // the same page again, with the change
        }, 'admin-result'),
      );
      actions.append(change);
    }
    row.append(actions);
    body.append(row);
  }
}

async function listEvents() {
  const answer = await call('GET', '/auth/admin/events?limit=25', { token: state.access ?? '' });
  report('admin-result', answer);
  const body = el('events');
  body.replaceChildren();
  if (answer.status !== 200) return;
  for (const event of answer.body.events) {
    const row = document.createElement('tr');
    for (const text of [event.occurred_at, event.type, event.username ?? '', event.ip ?? '']) {
      const cell = document.createElement('td');
      cell.textContent = String(text);
      row.append(cell);
    }
    body.append(row);
  }
}

async function showJwks() {
  const answer = await call('GET', '/.well-known/jwks.json');
  const current = state.access ? decode(state.access).header.kid : undefined;
  const list = el('jwks');
  list.replaceChildren();
  for (const key of answer.body.keys ?? []) {
    const item = document.createElement('li');
    item.textContent = `${key.kid} (${key.alg ?? key.kty})${key.kid === current ? ': signed the current access token' : ''}`;
    list.append(item);
  }
}

async function rotateKey() {
  const answer = await call('POST', '/auth/admin/keys/rotate', { token: state.access ?? '' });
  report('admin-result', answer);
  if (answer.status === 202) {
    say(
      'admin-result',
      `202: key ${answer.body.key.kid} staged; published in the JWKS now, signs from ${answer.body.key.activates_at} (refresh after that to see a token signed by it)`,
    );
    await showJwks();
  }
}

async function stats() {
  const [stateless, session] = await Promise.all([
    call('GET', '/api/stats'),
    call('GET', '/api-session/stats'),
  ]);
  for (const [name, answer] of /** @type {[string, Answer][]} */ ([
    ['stateless', stateless],
    ['session', session],
  ])) {
    if (answer.status !== 200) {
      say(`stats-${name}`, `${answer.status} ${describe(answer)}`);
      continue;
    }
    const { verifications, cache } = answer.body;
    const checks = Object.entries(answer.body.session_checks ?? {}).map(
      ([result, n]) => `session check ${result}: ${n}`,
    );
    say(
      `stats-${name}`,
      [...Object.entries(verifications).map(([result, n]) => `${result}: ${n}`), ...checks].join(', ') ||
        'none yet',
    );
    say(`cache-${name}`, `${cache.hits} / ${cache.misses}`);
    say(
      `ratio-${name}`,
      cache.hit_ratio === null ? 'no lookups yet' : `${Math.round(cache.hit_ratio * 100)} %`,
    );
  }
}

/**
 * Run a handler; an exception (a request that got no answer: `fetch` rejects) becomes a message in the element
 * `where`, never an unhandled rejection.
 * @param {() => Promise<unknown>} fn @param {string} [where]
 */
const guarded =
  (fn, where = 'status') =>
  () => {
    fn().catch((/** @type {unknown} */ error) =>
      say(where, `Error: ${error instanceof Error ? error.message : String(error)}`),
    );
  };

el('account-form').addEventListener('submit', (event) => {
  event.preventDefault();
  guarded(login)();
});
el('user-search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  guarded(findUser, 'admin-result')();
});
const handlers = /** @type {Record<string, () => Promise<unknown>>} */ ({
  register,
  refresh,
  'old-refresh': tryOldRefresh,
  logout,
  'call-both': callBoth,
  explain,
  'use-current': async () => {
    if (state.access) /** @type {HTMLTextAreaElement} */ (el('explain-token')).value = state.access;
  },
  'list-sessions': listSessions,
  'logout-all': logoutAll,
  'list-users': listUsers,
  'users-next': nextUsers,
  'users-prev': previousUsers,
  'list-events': listEvents,
  'rotate-key': rotateKey,
  'show-jwks': showJwks,
  stats,
});
/** Handlers of the admin section: their failures show where their answers do. */
const ADMIN = new Set(['list-users', 'users-next', 'users-prev', 'list-events', 'rotate-key']);
for (const [id, handler] of Object.entries(handlers)) {
  el(id).addEventListener('click', guarded(handler, ADMIN.has(id) ? 'admin-result' : 'status'));
}
for (const forgeButton of document.querySelectorAll('button.forge')) {
  forgeButton.addEventListener(
    'click',
    guarded(() => forge(/** @type {HTMLButtonElement} */ (forgeButton))),
  );
}
setInterval(tick, 1000);
document.documentElement.dataset.ready = 'true';
