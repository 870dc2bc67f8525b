// The protected path, two targets side by side:
//   stateless       GET /api/protected  the resource verifies the JWT against its cached JWKS, nothing else
//                                       (run the stack with VERIFY_MODE=session to make it check Redis too)
//   session_checked GET /auth/me        auth verifies the JWT, checks the session in Redis, reads the account
// Each VU logs in once as its own account and renews its access token by refresh before it expires.
import { check } from 'k6';
import exec from 'k6/execution';
import { checkTarget, getWithToken, login, refresh, type TokenSet, userAt } from './lib/api.ts';
import { baseOptions, scenario, thresholds } from './lib/profiles.ts';
import { saveSummary } from './lib/summary.ts';

const VERIFY_MODE = __ENV.VERIFY_MODE || 'stateless';

export const options = {
  ...baseOptions(),
  scenarios: {
    stateless: { ...scenario('stateless'), tags: { verify_mode: VERIFY_MODE } },
    session_checked: scenario('sessionChecked'),
  },
  thresholds: thresholds({
    'http_req_failed{name:protected}': ['rate<0.01'],
    'http_req_duration{name:protected}': ['p(95)<100'],
    'http_req_failed{name:me}': ['rate<0.01'],
    'http_req_duration{name:me}': ['p(95)<150'],
    checks: ['rate>0.99'],
  }),
};

export function setup() {
  return checkTarget();
}

let tokens: TokenSet | undefined; // per VU: each VU is its own JavaScript runtime
let renewAt = 0;

function accessToken(): string | undefined {
  if (tokens && Date.now() >= renewAt) tokens = refresh(tokens.refresh_token);
  if (!tokens) tokens = login(userAt(exec.vu.idInTest));
  if (tokens) renewAt = Date.now() + (tokens.expires_in * 1000) / 2;
  return tokens?.access_token;
}

export function stateless(): void {
  const token = accessToken();
  if (!token) return;
  const res = getWithToken('/api/protected', token, 'protected');
  check(res, { 'protected 200': (r) => r.status === 200 });
}

export function sessionChecked(): void {
  const token = accessToken();
  if (!token) return;
  const res = getWithToken('/auth/me', token, 'me');
  check(res, { 'me 200': (r) => r.status === 200 });
}

export const handleSummary = saveSummary('02-protected');
