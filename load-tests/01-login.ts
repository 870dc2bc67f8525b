// The login path, bound by bcrypt: its ceiling is cores / (bcrypt time at the configured cost), about 8/s on
// 2 cores at cost 12. Each iteration logs in as the next seeded account (spread over all of them, so no
// account meets its per-account success limit).
//   make seed USERS=1000 && make load SCRIPT=01-login PROFILE=average RATE=8
import exec from 'k6/execution';
import { checkTarget, login, userAt } from './lib/api.ts';
import { baseOptions, scenario, thresholds } from './lib/profiles.ts';
import { saveSummary } from './lib/summary.ts';

export const options = {
  ...baseOptions(),
  scenarios: { login: scenario('loginOnce') },
  thresholds: thresholds({
    'http_req_failed{name:login}': ['rate<0.01'],
    'http_req_duration{name:login}': ['p(95)<1500'],
    checks: ['rate>0.99'],
  }),
};

export function setup() {
  return checkTarget();
}

export function loginOnce(): void {
  login(userAt(exec.scenario.iterationInTest));
}

export const handleSummary = saveSummary('01-login');
