// The login path: bound by bcrypt. Its ceiling is cores / (bcrypt time at the configured cost).
//   k6 run -e BASE_URL=https://localhost:8443 -e PROFILE=average -e RATE=20 load-tests/01-login.ts
import exec from 'k6/execution';
import { createUsers, login, scenario } from './lib/common.ts';

export const options = {
  scenarios: { login: scenario() },
  thresholds: {
    'http_req_failed{name:login}': ['rate<0.01'],
    'http_req_duration{name:login}': ['p(95)<1000'],
    checks: ['rate>0.99'],
  },
};

export function setup(): { users: string[] } {
  return { users: createUsers() };
}

export default function (data: { users: string[] }): void {
  login(data.users[exec.vu.idInTest % data.users.length]!);
}
