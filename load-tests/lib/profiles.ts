// Load profiles after the k6 documentation's test types. Pick one with PROFILE=...; every rate and duration
// comes from __ENV with a default sized for a small machine (RATE defaults to 8/s: about the bcrypt ceiling of
// 2 cores at cost 12, see load-tests/README.md).
//   smoke       a handful of VUs for a short while: does the script work against this target?
//   average     ramp up to RATE/s, hold it for DURATION, ramp down
//   stress      the same shape at RATE x STRESS_FACTOR (default 1.5)
//   spike       a jump to RATE x SPIKE_FACTOR (default 4) in seconds, held briefly, and back
//   soak        average's rate for a long DURATION (default 2h)
//   breakpoint  arrival rate rising to MAX_RATE (default RATE x 10) until a threshold aborts the run
import type { Scenario, Threshold } from 'k6/options';

const num = (name: string, fallback: number) => {
  const value = Number(__ENV[name] ?? fallback);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const str = (name: string, fallback: string) => __ENV[name] || fallback;

export const PROFILE = str('PROFILE', 'smoke');
export const RATE = num('RATE', 8);
const PRE_VUS = num('PRE_VUS', 20);
export const MAX_VUS = num('MAX_VUS', 200);

/** One scenario of the chosen profile, running the exported function `exec`. */
export function scenario(exec: string): Scenario {
  const arrival = { timeUnit: '1s', preAllocatedVUs: PRE_VUS, maxVUs: MAX_VUS, exec };
  const ramp = str('RAMP', '30s');
  switch (PROFILE) {
    case 'smoke':
      return { executor: 'constant-vus', exec, vus: num('VUS', 2), duration: str('DURATION', '30s') };
    case 'average':
    case 'soak':
    case 'stress': {
      const factor = PROFILE === 'stress' ? num('STRESS_FACTOR', 1.5) : 1;
      const hold = str('DURATION', PROFILE === 'soak' ? '2h' : '3m');
      const target = Math.max(1, Math.round(RATE * factor));
      return {
        executor: 'ramping-arrival-rate',
        startRate: 1,
        ...arrival,
        stages: [
          { target, duration: ramp },
          { target, duration: hold },
          { target: 0, duration: ramp },
        ],
      };
    }
    case 'spike': {
      const peak = Math.max(1, Math.round(RATE * num('SPIKE_FACTOR', 4)));
      return {
        executor: 'ramping-arrival-rate',
        startRate: 1,
        ...arrival,
        stages: [
          { target: peak, duration: str('SPIKE_RAMP', '10s') },
          { target: peak, duration: str('DURATION', '1m') },
          { target: 0, duration: str('SPIKE_RAMP', '10s') },
        ],
      };
    }
    case 'breakpoint':
      return {
        executor: 'ramping-arrival-rate',
        startRate: 1,
        ...arrival,
        stages: [{ target: num('MAX_RATE', RATE * 10), duration: str('DURATION', '10m') }],
      };
    default:
      throw new Error(`PROFILE=${PROFILE}: use smoke, average, stress, spike, soak or breakpoint`);
  }
}

/**
 * Thresholds are the pass/fail gate. Under the breakpoint profile each one aborts the run when crossed (after a
 * short grace period), since finding that point is the test's purpose.
 */
export function thresholds(spec: Record<string, string[]>): Record<string, Threshold[]> {
  const abort = PROFILE === 'breakpoint';
  const out: Record<string, Threshold[]> = {};
  for (const [metric, rules] of Object.entries(spec)) {
    out[metric] = rules.map((threshold) =>
      abort ? { threshold, abortOnFail: true, delayAbortEval: str('ABORT_DELAY', '10s') } : threshold,
    );
  }
  return out;
}

/** Options shared by every script: setup may seed sessions, so it gets its own time budget. */
export function baseOptions() {
  return {
    setupTimeout: str('SETUP_TIMEOUT', '2m'),
    teardownTimeout: str('TEARDOWN_TIMEOUT', '1m'),
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
    tags: { profile: PROFILE },
  };
}
