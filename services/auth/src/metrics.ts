/**
 * The auth service's Prometheus metrics, beside the shared HTTP ones (`createMetrics`): bcrypt time, login outcomes,
 * refresh reuse, cookie exchanges, admission control (its plan as gauges, what it admits and sheds), and what the
 * last readiness check found of PostgreSQL and Redis. Also bcrypt's trace spans.
 */
import { createMetrics, type Metrics, withSpan } from '@authstack/telemetry';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Admission, AdmissionObserver, AdmissionOp, ShedReason } from './domain/admission.ts';
import type { Observe } from './domain/deps.ts';
import type { Bcrypt } from './domain/passwords.ts';

export interface AuthMetrics extends Metrics {
  /** What the use cases report. */
  observe: Required<Observe>;
  /** What admission control reports. */
  admission: AdmissionObserver;
  /** Gauges of admission control's plan and state; once, after it exists. */
  watch(admission: Admission): void;
  /** What a readiness check (`/readyz`) found of one dependency. */
  dependencyReady(dependency: 'postgres' | 'redis', ready: boolean): void;
}

export function createAuthMetrics(): AuthMetrics {
  const metrics = createMetrics('auth');
  const registers = [metrics.registry];
  const bcryptSeconds = new Histogram({
    name: 'auth_bcrypt_duration_seconds',
    help: 'Time spent in bcrypt',
    labelNames: ['op'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2],
    registers,
  });
  const refreshReuse = new Counter({
    name: 'auth_refresh_reuse_total',
    help: 'Refresh tokens presented again after rotation (each revokes its session)',
    registers,
  });
  const cookieExchanges = new Counter({
    name: 'auth_cookie_exchange_total',
    help: "The gateway's cookie-to-token exchanges by outcome (cached token served, token minted, cookie refused)",
    labelNames: ['outcome'] as const,
    registers,
  });
  const logins = new Counter({
    name: 'auth_login_total',
    help: 'Login attempts by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });
  const bcryptAdmitted = new Counter({
    name: 'auth_bcrypt_admitted_total',
    help: 'Password-hashing operations admitted, by operation',
    labelNames: ['op'] as const,
    registers,
  });
  const bcryptShed = new Counter({
    name: 'auth_bcrypt_shed_total',
    help: 'Password-hashing operations shed (503 overloaded), by operation and reason (budget, client, account)',
    labelNames: ['op', 'reason'] as const,
    registers,
  });
  // Every admission series from zero, so a rate sees the first one and the shed ratio's denominator always exists.
  const ops = Object.keys({ login: 1, register: 1, password_change: 1 } satisfies Record<AdmissionOp, 1>);
  const reasons = Object.keys({ budget: 1, client: 1, account: 1 } satisfies Record<ShedReason, 1>);
  for (const op of ops) {
    bcryptAdmitted.inc({ op }, 0);
    for (const reason of reasons) bcryptShed.inc({ op, reason }, 0);
  }
  const dependencies = new Gauge({
    name: 'dependency_ready',
    help: 'Whether the last readiness check (/readyz) reached the dependency: 1 yes, 0 no',
    labelNames: ['dependency'] as const,
    registers,
  });

  return {
    ...metrics,
    observe: {
      bcrypt: (op, seconds) => bcryptSeconds.observe({ op }, seconds),
      login: (outcome) => logins.inc({ outcome }),
      refreshReuse: () => refreshReuse.inc(),
      cookieExchange: (outcome) => cookieExchanges.inc({ outcome }),
    },
    admission: {
      admitted: (op) => bcryptAdmitted.inc({ op }),
      shed: (op, reason) => bcryptShed.inc({ op, reason }),
    },
    watch(admission) {
      new Gauge({
        name: 'auth_bcrypt_in_flight',
        help: 'Admitted password-hashing operations not yet finished (running or waiting for a thread)',
        registers,
        collect() {
          this.set(admission.inFlight());
        },
      });
      new Gauge({
        name: 'auth_bcrypt_queue_depth',
        help: 'Admitted password-hashing operations waiting for a thread-pool thread (in flight beyond the workers)',
        registers,
        collect() {
          this.set(admission.queueDepth());
        },
      });
      const { plan } = admission;
      const settings = [
        ['auth_bcrypt_threadpool_size', 'libuv thread pool size (UV_THREADPOOL_SIZE)', plan.poolSize],
        ['auth_bcrypt_workers', 'Hashes that run at once: min(thread pool size, cores)', plan.workers],
        ['auth_bcrypt_hash_seconds', 'One hash at BCRYPT_COST, measured at start-up', plan.hashMs / 1000],
        ['auth_bcrypt_queue_budget_seconds', 'Latency budget of admitted hashing work', plan.budgetMs / 1000],
        ['auth_bcrypt_admission_capacity', 'Operations admitted at once within the budget', plan.capacity],
        ['auth_bcrypt_admission_max_per_client', 'Admitted operations per client address', plan.maxPerClient],
        ['auth_bcrypt_admission_max_per_account', 'Admitted operations per account', plan.maxPerAccount],
      ] as const;
      for (const [name, help, value] of settings) new Gauge({ name, help, registers }).set(value);
    },
    dependencyReady: (dependency, ready) => dependencies.set({ dependency }, ready ? 1 : 0),
  };
}

/** bcrypt with a span per hash and per comparison (no-ops unless tracing is on: packages/telemetry/src/tracing.ts). */
export function tracedBcrypt(engine: Bcrypt): Bcrypt {
  return {
    hash: (data, cost) =>
      withSpan('auth', 'bcrypt.hash', { 'bcrypt.cost': cost }, () => engine.hash(data, cost)),
    compare: (data, encrypted) =>
      withSpan('auth', 'bcrypt.compare', {}, () => engine.compare(data, encrypted)),
  };
}
