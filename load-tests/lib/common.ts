// Shared pieces of the k6 scripts: target, load profiles, users (one per virtual user), checks.
import { check, fail } from 'k6';
import http from 'k6/http';

export const BASE_URL = __ENV.BASE_URL || 'https://localhost:8443';
export const PASSWORD = 'k6 load test passphrase';
export const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** Load profiles (after grafana/quickpizza): pick with PROFILE=smoke|average|stress. */
export function scenario(exec = 'default') {
  const rate = Number(__ENV.RATE || 20);
  switch (__ENV.PROFILE || 'smoke') {
    case 'average':
      return {
        executor: 'constant-arrival-rate',
        exec,
        rate,
        timeUnit: '1s',
        duration: '2m',
        preAllocatedVUs: 20,
        maxVUs: 100,
      };
    case 'stress':
      return {
        executor: 'ramping-arrival-rate',
        exec,
        startRate: 1,
        timeUnit: '1s',
        preAllocatedVUs: 50,
        maxVUs: 300,
        stages: [
          { target: rate, duration: '1m' },
          { target: rate * 3, duration: '2m' },
          { target: 0, duration: '30s' },
        ],
      };
    default:
      return { executor: 'constant-vus', exec, vus: 2, duration: '30s' };
  }
}

export const USERS = Number(__ENV.USERS || 50);

/** setup(): the target answers, and USERS accounts exist (distinct per virtual user). */
export function createUsers(): string[] {
  const ping = http.get(`${BASE_URL}/api/public`);
  if (ping.status !== 200) fail(`target ${BASE_URL} not reachable (status ${ping.status})`);
  const run = Date.now().toString(36);
  const names: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const username = `k6${run}u${i}`;
    const res = http.post(`${BASE_URL}/auth/register`, JSON.stringify({ username, password: PASSWORD }), {
      headers: JSON_HEADERS,
    });
    if (res.status !== 201)
      fail(`register ${username}: ${res.status} (raise REGISTER_MAX_PER_IP_PER_HOUR for load tests)`);
    names.push(username);
  }
  return names;
}

export interface LoginBody {
  access_token: string;
  refresh_token: string;
}

export function login(username: string): LoginBody | undefined {
  const res = http.post(`${BASE_URL}/auth/login`, JSON.stringify({ username, password: PASSWORD }), {
    headers: JSON_HEADERS,
    tags: { name: 'login' },
  });
  const ok = check(res, { 'login 200': (r) => r.status === 200 });
  return ok ? (res.json() as unknown as LoginBody) : undefined;
}
