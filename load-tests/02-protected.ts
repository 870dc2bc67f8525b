// The protected path: stateless verification at the resource service (signature + claims, cached).
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { BASE_URL, createUsers, login, scenario } from './lib/common.ts';

export const options = {
  scenarios: { protected: scenario() },
  thresholds: {
    'http_req_failed{name:protected}': ['rate<0.01'],
    'http_req_duration{name:protected}': ['p(95)<100'],
    checks: ['rate>0.99'],
  },
};

export function setup(): { tokens: string[] } {
  // Access tokens live ACCESS_TOKEN_TTL (5 minutes by default): keep runs shorter, or raise it.
  return { tokens: createUsers().map((name) => login(name)?.access_token ?? '') };
}

export default function (data: { tokens: string[] }): void {
  const token = data.tokens[exec.vu.idInTest % data.tokens.length];
  const res = http.get(`${BASE_URL}/api/protected`, {
    headers: { Authorization: `Bearer ${token}` },
    tags: { name: 'protected' },
  });
  check(res, { 'protected 200': (r) => r.status === 200 });
}
