// The API calls the scripts make, the load-test accounts (from `make seed`) and the target check of setup().
import { check, fail } from 'k6';
import { SharedArray } from 'k6/data';
import http, { type RefinedResponse } from 'k6/http';

export const BASE_URL = (__ENV.BASE_URL || 'https://localhost:8443').replace(/\/$/, '');
export const JSON_HEADERS = { 'Content-Type': 'application/json' };

interface UsersFile {
  password: string;
  usernames: string[];
}

// `make seed USERS=N` writes the users file; k6 reads it once and shares it between VUs (SharedArray).
const USERS_PATH = __ENV.USERS_PATH || import.meta.resolve('../data/users.json');
const readUsers = (): UsersFile => {
  const parsed = JSON.parse(open(USERS_PATH)) as UsersFile;
  if (!Array.isArray(parsed.usernames) || parsed.usernames.length === 0 || !parsed.password)
    throw new Error(`${USERS_PATH}: no load-test users; run make seed USERS=N first`);
  return parsed;
};
export const usernames = new SharedArray('usernames', () => readUsers().usernames);
const secrets = new SharedArray('password', () => [readUsers().password]);
export const password = (): string => secrets[0] as string;

/** The k6 user for the n-th slot (a VU id, an iteration number): distinct while n < the number of accounts. */
export const userAt = (n: number): string => usernames[n % usernames.length] as string;

/** setup(): the target answers through the gateway, with its TLS certificate verified, and users are seeded. */
export function checkTarget(): { users: number } {
  const ping = http.get(`${BASE_URL}/api/public`, { tags: { name: 'public' } });
  if (ping.status !== 200)
    fail(`target ${BASE_URL} not reachable: status ${ping.status} ${ping.error || ''} (is the stack up?)`);
  return { users: usernames.length };
}

export interface TokenSet {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

const tokensOf = (res: RefinedResponse<'text'>): TokenSet => res.json() as unknown as TokenSet;

export function login(username: string, secret = password()): TokenSet | undefined {
  const res = http.post(`${BASE_URL}/auth/login`, JSON.stringify({ username, password: secret }), {
    headers: JSON_HEADERS,
    tags: { name: 'login' },
  });
  const ok = check(res, { 'login 200': (r) => r.status === 200 });
  return ok ? tokensOf(res) : undefined;
}

export function refresh(refreshToken: string): TokenSet | undefined {
  const res = http.post(`${BASE_URL}/auth/refresh`, JSON.stringify({ refresh_token: refreshToken }), {
    headers: JSON_HEADERS,
    tags: { name: 'refresh' },
  });
  const ok = check(res, { 'refresh 200': (r) => r.status === 200 });
  return ok ? tokensOf(res) : undefined;
}

export function logout(accessToken: string): boolean {
  const res = http.post(`${BASE_URL}/auth/logout`, null, {
    headers: { Authorization: `Bearer ${accessToken}` },
    tags: { name: 'logout' },
  });
  return check(res, { 'logout 200': (r) => r.status === 200 });
}

export function getWithToken(path: string, accessToken: string, name: string) {
  return http.get(`${BASE_URL}${path}`, {
    headers: { Authorization: `Bearer ${accessToken}` },
    tags: { name },
  });
}
