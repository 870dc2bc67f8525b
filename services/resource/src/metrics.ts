/**
 * The resource service's Prometheus metrics, beside the shared HTTP ones (`createMetrics`): token verifications by
 * result, JWKS fetches, the verified-token cache, session-mode checks, and what the last readiness check found of the
 * key set and (session mode) Redis. Verifications and session checks are
 * also tallied in memory for the study console's JSON summary (GET /api/stats).
 */
import { createMetrics, type Metrics } from '@authstack/telemetry';
import type { Verifier } from '@authstack/verifier';
import { Counter, Gauge } from 'prom-client';

export interface ResourceMetrics extends Metrics {
  /** One verification's result: `valid` or the error code. */
  verification(result: string): void;
  jwksFetch(ok: boolean): void;
  sessionCheck(result: 'alive' | 'revoked'): void;
  /** The tallies since start-up, for GET /api/stats. */
  results(): Record<string, number>;
  sessionChecks(): Record<string, number>;
  /** Gauges of the verifier's token cache; once, after it exists. */
  watchCache(verifier: Pick<Verifier, 'stats'>): void;
  /** What a readiness check (`/readyz`) found of one dependency: the key set (`jwks`), Redis in session mode. */
  dependencyReady(dependency: 'jwks' | 'redis', ready: boolean): void;
}

export function createResourceMetrics(): ResourceMetrics {
  const metrics = createMetrics('resource');
  const registers = [metrics.registry];
  // Verifications and session checks are counted per request (the hot path): a plain tally each, which the
  // counters take up when Prometheus reads them (`collect`), instead of a labelled `inc` per request.
  const results: Record<string, number> = {};
  const sessionResults: Record<string, number> = {};
  /** `collect` for a counter of tallies: adds what each label gained since the last read. */
  const fromTallies = (tallies: Record<string, number>, label: string) => {
    const reported: Record<string, number> = {};
    return function (this: Counter<string>) {
      for (const [value, total] of Object.entries(tallies)) {
        const gained = total - (reported[value] ?? 0);
        if (gained > 0) this.inc({ [label]: value }, gained);
        reported[value] = total;
      }
    };
  };
  new Counter({
    name: 'resource_token_verifications_total',
    help: 'Access-token verifications by result (valid or the error code)',
    labelNames: ['result'] as const,
    registers,
    collect: fromTallies(results, 'result'),
  });
  const jwksFetches = new Counter({
    name: 'resource_jwks_fetches_total',
    help: 'JWKS fetches by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });
  // Both outcomes from zero, so a rate sees the first failure (the JWKS alert compares them).
  for (const outcome of ['ok', 'error']) jwksFetches.inc({ outcome }, 0);
  new Counter({
    name: 'resource_session_checks_total',
    help: 'Session-mode checks of a verified token by result (alive or revoked)',
    labelNames: ['result'] as const,
    registers,
    collect: fromTallies(sessionResults, 'result'),
  });
  const dependencies = new Gauge({
    name: 'dependency_ready',
    help: 'Whether the last readiness check (/readyz) reached the dependency: 1 yes, 0 no',
    labelNames: ['dependency'] as const,
    registers,
  });

  return {
    ...metrics,
    verification(result) {
      results[result] = (results[result] ?? 0) + 1;
    },
    jwksFetch: (ok) => jwksFetches.inc({ outcome: ok ? 'ok' : 'error' }),
    sessionCheck(result) {
      sessionResults[result] = (sessionResults[result] ?? 0) + 1;
    },
    results: () => ({ ...results }),
    sessionChecks: () => ({ ...sessionResults }),
    dependencyReady: (dependency, ready) => dependencies.set({ dependency }, ready ? 1 : 0),
    watchCache(verifier) {
      new Gauge({
        name: 'resource_verified_token_cache',
        help: 'Verified-token cache: hits, misses and size',
        labelNames: ['stat'] as const,
        registers,
        collect() {
          const stats = verifier.stats();
          this.set({ stat: 'hits' }, stats.cacheHits);
          this.set({ stat: 'misses' }, stats.cacheMisses);
          this.set({ stat: 'size' }, stats.cacheSize);
        },
      });
    },
  };
}
