// An attacker from one address: leaked username lists (some names exist, most do not) with wrong passwords.
// The pass/fail gate is the defence, not speed: the limiter refuses most attempts (429 too_many_attempts) and no
// attempt ever logs in. Run it against the human limits (plain `make up`, NOT the load override), and unseed or
// wait LOGIN_BLOCK_SECONDS afterwards: this address is blocked for logins meanwhile, by design.
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Rate } from 'k6/metrics';
import { BASE_URL, checkTarget, JSON_HEADERS, userAt } from './lib/api.ts';
import { baseOptions, scenario, thresholds } from './lib/profiles.ts';
import { saveSummary } from './lib/summary.ts';

const ATTEMPTS = Number(__ENV.ATTEMPTS ?? 10);
const attackerSuccesses = new Counter('attacker_successes');
const refused = new Rate('limiter_refusals');

export const options = {
  ...baseOptions(),
  scenarios: { stuffing: scenario('stuff') },
  thresholds: thresholds({
    attacker_successes: ['count==0'],
    limiter_refusals: [`rate>${__ENV.MIN_REFUSED ?? 0.5}`],
    'checks{check:never logged in}': ['rate==1'],
  }),
};

export function setup() {
  return checkTarget();
}

export function stuff(): void {
  for (let i = 0; i < ATTEMPTS; i++) {
    const n = exec.scenario.iterationInTest * ATTEMPTS + i;
    // Every other guess names a real (seeded) account; the rest are names from someone else's breach.
    const username = n % 2 === 0 ? userAt(n) : `leaked-${exec.vu.idInTest}-${n}`;
    const res = http.post(
      `${BASE_URL}/auth/login`,
      JSON.stringify({ username, password: `Summer20${n % 100}!` }),
      {
        headers: JSON_HEADERS,
        tags: { name: 'stuffing' },
        responseCallback: http.expectedStatuses(401, 429),
      },
    );
    if (res.status === 200) attackerSuccesses.add(1);
    refused.add(res.status === 429);
    check(res, {
      'never logged in': (r) => r.status !== 200,
      'refused as invalid_credentials or too_many_attempts': (r) =>
        ['invalid_credentials', 'too_many_attempts'].includes(String(r.json('code'))),
    });
  }
}

export const handleSummary = saveSummary('05-credential-stuffing');
