/**
 * AuthClient: a small SDK for the stack's HTTP API.
 *
 * - trusts a given CA (the local one made by `make certs`) and nothing is ever "insecure": the base URL is
 *   HTTPS, plain HTTP only to a loopback address with `insecureHttpLoopback` set;
 * - keeps the tokens in memory; refresh is single-flight (concurrent callers share one refresh, since
 *   presenting a refresh token twice is reuse and ends the session);
 * - `request()` attaches the access token and, on 401 `token_expired`, refreshes once and retries;
 * - failures are `ApiError`s built from the problem+json body (`status`, `code`, `retryAfter`); no answer at all is a
 *   `NetworkError` naming the cause (connection refused, certificate not trusted, timeout, unreachable);
 * - `mode: 'cookie'` logs in with a cookie session instead (`/auth/login?session=cookie`): a small cookie jar keeps
 *   the `__Host-session` cookie and sends it back, no token is kept or sent, and the gateway turns the cookie into
 *   an access token for the resource. Browsers do the same with their own jar.
 *
 * Request and response types come from `@authstack/contract`, the schemas the services validate with and the
 * OpenAPI documents are generated from (type-only imports: nothing of it runs here).
 */
import type {
  Session as ContractSession,
  User as ContractUser,
  CookieLoginResponse,
  Me,
  TokenResponse,
} from '@authstack/contract';
import { Agent, type Dispatcher, fetch } from 'undici';
import { checkBaseUrl } from './base-url.ts';
import { classifyNetworkError } from './network-errors.ts';

export { NetworkError, type NetworkFailure } from './network-errors.ts';

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  request_id?: string;
  [member: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;
  readonly retryAfter: number | undefined;

  constructor(status: number, problem: Problem, retryAfter: number | undefined) {
    super(`${status} ${problem.code ?? 'error'}: ${problem.detail ?? problem.title ?? 'request failed'}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code ?? 'error';
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

export type User = ContractUser;

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** ms since epoch */
  accessExpiresAt: number;
}

export interface LoginResult {
  message: string;
  user: User;
  /** The tokens kept (bearer mode); undefined in cookie mode, whose session is the cookie alone. */
  tokens: Tokens | undefined;
}

export type Session = ContractSession;

export interface RawResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * Cookies for one site, the way simple HTTP clients keep them (Python `requests` does much the same): every
 * Set-Cookie's name and value, removed by `Max-Age=0`, all sent back in one Cookie header.
 */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  constructor(initial: Record<string, string> = {}) {
    for (const [name, value] of Object.entries(initial)) this.#cookies.set(name, value);
  }

  /** Keep what the response set; true when anything changed. */
  store(setCookies: string[]): boolean {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      if (at <= 0) continue;
      const name = pair.slice(0, at).trim();
      if (attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a))) this.#cookies.delete(name);
      else this.#cookies.set(name, pair.slice(at + 1).trim());
    }
    return setCookies.length > 0;
  }

  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  toJSON(): Record<string, string> {
    return Object.fromEntries(this.#cookies);
  }
}

export interface AuthClientOptions {
  /** e.g. https://localhost:8443 */
  baseUrl: string;
  /** PEM of the CA to trust in addition to none: when given, only this CA is trusted. */
  ca?: string | Buffer;
  userAgent?: string;
  /** Tokens from an earlier run (e.g. a token file). */
  tokens?: Tokens;
  /** Told whenever the tokens change (login, refresh, logout). */
  onTokens?: (tokens: Tokens | undefined) => void;
  /** Allow a plain `http://` base URL, and only to a loopback address. Default false: HTTPS only. */
  insecureHttpLoopback?: boolean;
  /** Give up on a request after this long (default 30 s): a `NetworkError` of kind `timeout`. */
  timeoutMs?: number;
  /** `bearer` (default): tokens in memory, `Authorization: Bearer`. `cookie`: a cookie session, a cookie jar. */
  mode?: 'bearer' | 'cookie';
  /** Cookie mode: cookies from an earlier run. */
  cookies?: Record<string, string>;
  /** Cookie mode: told whenever the jar changes. */
  onCookies?: (cookies: Record<string, string>) => void;
}

export class AuthClient {
  readonly baseUrl: string;
  #dispatcher: Dispatcher | undefined;
  #userAgent: string;
  #tokens: Tokens | undefined;
  #refreshing: Promise<Tokens> | undefined;
  #onTokens: ((tokens: Tokens | undefined) => void) | undefined;
  #timeoutMs: number;
  #jar: CookieJar | undefined;
  #onCookies: ((cookies: Record<string, string>) => void) | undefined;

  constructor(options: AuthClientOptions) {
    checkBaseUrl(options.baseUrl, options.insecureHttpLoopback);
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.#dispatcher = options.ca ? new Agent({ connect: { ca: options.ca } }) : undefined;
    this.#userAgent = options.userAgent ?? 'authstack-client/0.1';
    this.#tokens = options.tokens;
    this.#onTokens = options.onTokens;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#jar = options.mode === 'cookie' ? new CookieJar(options.cookies) : undefined;
    this.#onCookies = options.onCookies;
  }

  get mode(): 'bearer' | 'cookie' {
    return this.#jar ? 'cookie' : 'bearer';
  }

  /** Cookie mode: the jar's cookies (name to value). */
  get cookies(): Record<string, string> {
    return this.#jar?.toJSON() ?? {};
  }

  get tokens(): Tokens | undefined {
    return this.#tokens;
  }

  /** One HTTP call, no error mapping: the status, headers and parsed body. */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    init: {
      body?: unknown;
      token?: string | undefined;
      headers?: Record<string, string>;
      text?: boolean;
    } = {},
  ): Promise<RawResponse<T>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.#userAgent,
      ...init.headers,
    };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const cookie = this.#jar?.header();
    if (cookie && headers.cookie === undefined) headers.cookie = cookie;
    const url = `${this.baseUrl}${path}`;
    let response: Awaited<ReturnType<typeof fetch>>;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (this.#jar?.store(response.headers.getSetCookie())) this.#onCookies?.(this.#jar.toJSON());
      text = await response.text();
    } catch (error) {
      throw classifyNetworkError(error, url, this.#timeoutMs);
    }
    let body: unknown = {};
    if (init.text && response.ok) {
      return { status: response.status, headers: response.headers as unknown as Headers, body: text as T };
    }
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { detail: text.slice(0, 200) };
    }
    return { status: response.status, headers: response.headers as unknown as Headers, body: body as T };
  }

  async #expect<T>(expected: number[], response: RawResponse<unknown>): Promise<T> {
    if (expected.includes(response.status)) return response.body as T;
    const retryAfter = response.headers.get('retry-after');
    throw new ApiError(
      response.status,
      response.body as Problem,
      retryAfter ? Number(retryAfter) : undefined,
    );
  }

  #store(body: TokenResponse): Tokens {
    this.#tokens = {
      accessToken: body.access_token,
      refreshToken: body.refresh_token,
      accessExpiresAt: Date.now() + body.expires_in * 1000,
    };
    this.#onTokens?.(this.#tokens);
    return this.#tokens;
  }

  async register(username: string, password: string): Promise<User> {
    const body = await this.#expect<{ user: User }>(
      [201],
      await this.call('POST', '/auth/register', { body: { username, password } }),
    );
    return body.user;
  }

  /** Bearer mode keeps the tokens; cookie mode keeps only the session cookie (its answer carries no token). */
  async login(username: string, password: string): Promise<LoginResult> {
    if (this.#jar) {
      const body = await this.#expect<CookieLoginResponse>(
        [200],
        await this.call('POST', '/auth/login?session=cookie', { body: { username, password } }),
      );
      return { message: body.message, user: body.user, tokens: undefined };
    }
    const body = await this.#expect<TokenResponse>(
      [200],
      await this.call('POST', '/auth/login', { body: { username, password } }),
    );
    return { message: body.message, user: body.user, tokens: this.#store(body) };
  }

  /** Swap the refresh token for a new pair. Concurrent callers share one request. */
  refresh(): Promise<Tokens> {
    this.#refreshing ??= (async () => {
      const refreshToken = this.#tokens?.refreshToken;
      if (!refreshToken)
        throw new ApiError(401, { code: 'not_logged_in', detail: 'log in first' }, undefined);
      try {
        const response = await this.call<TokenResponse>('POST', '/auth/refresh', {
          body: { refresh_token: refreshToken },
        });
        return this.#store(await this.#expect<TokenResponse>([200], response));
      } catch (error) {
        if (error instanceof ApiError && error.code === 'invalid_grant') {
          this.#tokens = undefined;
          this.#onTokens?.(undefined);
        }
        throw error;
      }
    })().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** An authorised call: on 401 `token_expired` the tokens are refreshed once and the call retried. */
  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    options: { text?: boolean } = {},
  ): Promise<T> {
    const send = () =>
      this.call(method, path, {
        ...(body !== undefined ? { body } : {}),
        token: this.#tokens?.accessToken,
        ...(options.text ? { text: true } : {}),
      });
    let response = await send();
    if (
      !this.#jar &&
      response.status === 401 &&
      (response.body as Problem).code === 'token_expired' &&
      this.#tokens
    ) {
      await this.refresh();
      response = await send();
    }
    return this.#expect<T>([200, 201, 202], response);
  }

  me(): Promise<Me> {
    return this.request('GET', '/auth/me');
  }

  async sessions(): Promise<Session[]> {
    return (await this.request<{ sessions: Session[] }>('GET', '/auth/sessions')).sessions;
  }

  async logout(): Promise<void> {
    if (this.#jar) {
      // The cookie names the session; the answer clears it from the jar.
      await this.#expect([200], await this.call('POST', '/auth/logout'));
      return;
    }
    if (!this.#tokens) return;
    await this.#expect(
      [200],
      await this.call('POST', '/auth/logout', { body: { refresh_token: this.#tokens.refreshToken } }),
    );
    this.#tokens = undefined;
    this.#onTokens?.(undefined);
  }

  async logoutAll(): Promise<number> {
    const body = await this.request<{ revoked: number }>('POST', '/auth/logout-all');
    this.#tokens = undefined;
    this.#onTokens?.(undefined);
    return body.revoked;
  }
}
