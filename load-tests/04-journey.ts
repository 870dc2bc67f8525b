// A user's visit: log in (a share WRONG_SHARE of attempts mistype the password first), several protected calls
// with think time, the profile, a refresh, one more call with the new token, and a logout with probability
// LOGOUT_P (the rest leave the session to expire, as people do).
import { check, group, sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import {
  BASE_URL,
  checkTarget,
  getWithToken,
  JSON_HEADERS,
  login,
  logout,
  refresh,
  userAt,
} from './lib/api.ts';
import { baseOptions, scenario, thresholds } from './lib/profiles.ts';
import { saveSummary } from './lib/summary.ts';

const WRONG_SHARE = Number(__ENV.WRONG_SHARE ?? 0.05);
const LOGOUT_P = Number(__ENV.LOGOUT_P ?? 0.7);
const CALLS = Number(__ENV.CALLS ?? 5);
const THINK = Number(__ENV.THINK ?? 1);

export const options = {
  ...baseOptions(),
  scenarios: { journey: scenario('journey') },
  thresholds: thresholds({
    'http_req_failed{name:login}': ['rate<0.01'],
    'http_req_failed{name:protected}': ['rate<0.01'],
    'http_req_duration{name:login}': ['p(95)<1500'],
    'http_req_duration{name:protected}': ['p(95)<100'],
    checks: ['rate>0.99'],
  }),
};

export function setup() {
  return checkTarget();
}

export function journey(): void {
  const username = userAt(exec.scenario.iterationInTest);
  let tokens = group('login', () => {
    if (Math.random() < WRONG_SHARE) {
      const wrong = http.post(
        `${BASE_URL}/auth/login`,
        JSON.stringify({ username, password: 'not my password' }),
        {
          headers: JSON_HEADERS,
          tags: { name: 'login_wrong' },
          responseCallback: http.expectedStatuses(401),
        },
      );
      check(wrong, { 'wrong password 401': (r) => r.status === 401 });
    }
    return login(username);
  });
  if (!tokens) return;
  group('browse', () => {
    for (let i = 0; i < CALLS; i++) {
      const res = getWithToken('/api/protected', tokens!.access_token, 'protected');
      check(res, { 'protected 200': (r) => r.status === 200 });
      sleep(THINK * Math.random());
    }
    const me = getWithToken('/auth/me', tokens!.access_token, 'me');
    check(me, { 'me 200': (r) => r.status === 200 });
  });
  tokens = group('refresh', () => refresh(tokens!.refresh_token));
  if (!tokens) return;
  const after = getWithToken('/api/protected', tokens.access_token, 'protected');
  check(after, { 'protected after refresh 200': (r) => r.status === 200 });
  if (Math.random() < LOGOUT_P) group('logout', () => logout(tokens!.access_token));
}

export const handleSummary = saveSummary('04-journey');
