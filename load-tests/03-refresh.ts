// Refresh rotation: one Lua script in Redis plus a signature per call. Each virtual user keeps its own chain.
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { BASE_URL, createUsers, JSON_HEADERS, login, scenario } from './lib/common.ts';

export const options = {
  scenarios: { refresh: scenario() },
  thresholds: {
    'http_req_failed{name:refresh}': ['rate<0.01'],
    'http_req_duration{name:refresh}': ['p(95)<200'],
    checks: ['rate>0.99'],
  },
};

export function setup(): { users: string[] } {
  return { users: createUsers() };
}

let refreshToken: string | undefined; // per virtual user (k6 runs each VU in its own runtime)

export default function (data: { users: string[] }): void {
  refreshToken ??= login(data.users[exec.vu.idInTest % data.users.length]!)?.refresh_token;
  if (!refreshToken) return;
  const res = http.post(`${BASE_URL}/auth/refresh`, JSON.stringify({ refresh_token: refreshToken }), {
    headers: JSON_HEADERS,
    tags: { name: 'refresh' },
  });
  const ok = check(res, { 'refresh 200': (r) => r.status === 200 });
  refreshToken = ok ? (res.json('refresh_token') as string) : undefined;
}
