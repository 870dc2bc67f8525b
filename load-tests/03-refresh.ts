// Refresh rotation: one Lua script in Redis plus a signature per call. Each VU keeps its own rotation chain:
// it logs in once, then every iteration presents the refresh token the previous one returned. A broken chain
// (any refresh refused) counts in refresh_chain_breaks, whose threshold is zero.
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { checkTarget, login, refresh, userAt } from './lib/api.ts';
import { baseOptions, scenario, thresholds } from './lib/profiles.ts';
import { saveSummary } from './lib/summary.ts';

const chainBreaks = new Counter('refresh_chain_breaks');

export const options = {
  ...baseOptions(),
  scenarios: { refresh: scenario('rotate') },
  thresholds: thresholds({
    'http_req_failed{name:refresh}': ['rate<0.01'],
    'http_req_duration{name:refresh}': ['p(95)<200'],
    refresh_chain_breaks: ['count==0'],
    checks: ['rate>0.99'],
  }),
};

export function setup() {
  return checkTarget();
}

let refreshToken: string | undefined; // the head of this VU's chain

export function rotate(): void {
  refreshToken ??= login(userAt(exec.vu.idInTest))?.refresh_token;
  if (!refreshToken) return;
  const next = refresh(refreshToken);
  if (!next) chainBreaks.add(1);
  refreshToken = next?.refresh_token;
}

export const handleSummary = saveSummary('03-refresh');
