/**
 * Admission control in front of bcrypt (login, register, password change).
 *
 * The async bcrypt binding runs on libuv's thread pool: UV_THREADPOOL_SIZE threads (4 when unset), of which at
 * most `workers = min(pool size, cores)` make progress at once. Work beyond that waits in the pool's queue, and
 * without a bound a flood makes every login wait for seconds. So each operation that will hash holds an
 * admission slot while its bcrypt work runs, and is admitted only while the work already admitted, plus its own,
 * can be served within the latency budget, two rounds of the workers kept back (two hash times) for the work
 * around the hash (input, Redis, PostgreSQL, signing) and for hashes slower than measured: under load that work
 * runs on the same cores as every hashing thread, and is slowed as much as the hashes are (with one round kept back
 * the admitted logins' p99 was 4-5 % over the budget; docs/benchmarks.md):
 *
 *     (admitted in flight, this one included, + 2 x workers) x hash time / workers  <=  budget
 *     capacity = max(workers, floor(budget x workers / hash time) - 2 x workers)
 *
 * The hash time is measured at start-up (one hash at BCRYPT_COST). BCRYPT_QUEUE_BUDGET_MS sets the budget; by
 * default it is the time to serve two full thread pools, 2 x pool size x hash time / workers, rounded up to whole
 * seconds: the unit of the Retry-After a shed client is told to wait. Shed clients that honour it come back
 * together; a budget shorter than that wait would leave the workers idle between the admitted work's end and
 * their return (measured in docs/benchmarks.md, the "bursts" row).
 *
 * Fairness: one client holds at most `maxPerClient` slots (default a quarter of the capacity, at least 1) and one
 * account at most `maxPerAccount` (default 2), so a flood from one client or at one account leaves the rest of the
 * capacity to everyone else. A client is counted as every per-address limit counts it (`clientBucket`): an IPv6
 * client per /64, an IPv4 client per address.
 *
 * Beyond any of the three the operation is shed: 503 `overloaded` with `Retry-After`, decided in memory before
 * any other work (no Redis, no database, no bcrypt), and never counted as an attempt by the abuse limits.
 * The slots are per process: each replica guards its own thread pool.
 */
import { clientBucket } from '@authstack/config';
import { overloaded } from './errors.ts';

export type AdmissionOp = 'login' | 'register' | 'password_change';
export type ShedReason = 'budget' | 'client' | 'account';

export interface AdmissionSettings {
  /** UV_THREADPOOL_SIZE (libuv's default 4 when unset). */
  poolSize: number;
  /** BCRYPT_QUEUE_BUDGET_MS; undefined: derived (two full pools, rounded up to whole seconds). */
  budgetMs: number | undefined;
  /** BCRYPT_MAX_PER_CLIENT; undefined: a quarter of the capacity, at least 1. */
  maxPerClient: number | undefined;
  /** BCRYPT_MAX_PER_ACCOUNT. */
  maxPerAccount: number;
}

export interface AdmissionPlan {
  poolSize: number;
  /** Hashes that run at once: min(pool size, cores). */
  workers: number;
  /** One hash at BCRYPT_COST, measured at start-up. */
  hashMs: number;
  budgetMs: number;
  /** Operations admitted at once (running or waiting for a thread). */
  capacity: number;
  maxPerClient: number;
  maxPerAccount: number;
  /** What a shed request is told to wait (the budget, rounded up to a second). */
  retryAfterSec: number;
}

export function planAdmission(settings: AdmissionSettings, hashMs: number, cores: number): AdmissionPlan {
  const workers = Math.max(1, Math.min(settings.poolSize, cores));
  const perHash = Math.max(hashMs, 0.001);
  const budgetMs = settings.budgetMs ?? Math.ceil((2 * settings.poolSize * perHash) / workers / 1000) * 1000;
  const capacity = Math.max(workers, Math.floor((budgetMs * workers) / perHash) - 2 * workers);
  return {
    poolSize: settings.poolSize,
    workers,
    hashMs,
    budgetMs,
    capacity,
    maxPerClient: Math.min(capacity, settings.maxPerClient ?? Math.max(1, Math.floor(capacity / 4))),
    maxPerAccount: Math.min(capacity, settings.maxPerAccount),
    retryAfterSec: Math.max(1, Math.ceil(budgetMs / 1000)),
  };
}

/** A held slot; `release()` is idempotent. */
export interface AdmissionTicket {
  release(): void;
}

export interface AdmissionObserver {
  admitted?: (op: AdmissionOp) => void;
  shed?: (op: AdmissionOp, reason: ShedReason) => void;
}

export function createAdmission(plan: AdmissionPlan, observe: AdmissionObserver = {}) {
  let inFlight = 0;
  const perClient = new Map<string, number>();
  const perAccount = new Map<string, number>();
  const take = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  const give = (counts: Map<string, number>, key: string) => {
    const left = (counts.get(key) ?? 1) - 1;
    if (left > 0) counts.set(key, left);
    else counts.delete(key);
  };

  return {
    plan,
    /** Admitted operations not yet finished (running on the pool or waiting for a thread). */
    inFlight: () => inFlight,
    /** Of those, the ones waiting for a thread. */
    queueDepth: () => Math.max(0, inFlight - plan.workers),

    /**
     * Take a slot for `op` by the client at `address` on `account` (normalised username), or throw 503 `overloaded`.
     * The cheapest check of the request path after input validation: memory only.
     */
    admit(op: AdmissionOp, address: string, account: string): AdmissionTicket {
      const client = clientBucket(address);
      const reason: ShedReason | undefined =
        (perClient.get(client) ?? 0) >= plan.maxPerClient
          ? 'client'
          : (perAccount.get(account) ?? 0) >= plan.maxPerAccount
            ? 'account'
            : inFlight >= plan.capacity
              ? 'budget'
              : undefined;
      if (reason) {
        observe.shed?.(op, reason);
        throw overloaded(plan.retryAfterSec);
      }
      inFlight++;
      take(perClient, client);
      take(perAccount, account);
      observe.admitted?.(op);
      let held = true;
      return {
        release() {
          if (!held) return;
          held = false;
          inFlight--;
          give(perClient, client);
          give(perAccount, account);
        },
      };
    },
  };
}

export type Admission = ReturnType<typeof createAdmission>;
