/**
 * Admission control in front of bcrypt (login, register, password change), per process, in memory. An operation
 * that will hash holds a slot while its bcrypt work runs; it is admitted only while the admitted work, its own and
 * two rounds of the workers kept back fit the latency budget, and while its client address and its account hold
 * less than their share:
 *
 *     capacity = max(workers, floor(budget x workers / hash time) - 2 x workers),  workers = min(pool size, cores)
 *
 * A client is counted as every per-address limit counts it (`clientBucket`: an IPv6 /64, an IPv4 address).
 * Otherwise it is shed before any other work: 503 `overloaded` with `Retry-After`, not an attempt for the limits.
 * `shedEarly` is the part of the decision that needs no account: login and register ask it before their body is read
 * (`routes/early-shed.ts`), so that a refusal under overload costs the main thread as little as it can.
 * Why the budget, the rounds kept back and the shares are what they are: docs/security-model.md, "Admission control".
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
  /**
   * How long a request shed before its body is read waits for its 503: the mean time until a slot frees
   * (hash time / workers), at most the Retry-After. A client that comes back at once then comes back no faster than
   * slots free, instead of spinning the main thread (and its own) with refusals.
   */
  shedDelayMs: number;
}

export function planAdmission(
  settings: AdmissionSettings,
  hashMs: number,
  cores: number,
  overrides: { shedDelayMs?: number | undefined } = {},
): AdmissionPlan {
  const workers = Math.max(1, Math.min(settings.poolSize, cores));
  const perHash = Math.max(hashMs, 0.001);
  const budgetMs = settings.budgetMs ?? Math.ceil((2 * settings.poolSize * perHash) / workers / 1000) * 1000;
  const capacity = Math.max(workers, Math.floor((budgetMs * workers) / perHash) - 2 * workers);
  const retryAfterSec = Math.max(1, Math.ceil(budgetMs / 1000));
  return {
    poolSize: settings.poolSize,
    workers,
    hashMs,
    budgetMs,
    capacity,
    maxPerClient: Math.min(capacity, settings.maxPerClient ?? Math.max(1, Math.floor(capacity / 4))),
    maxPerAccount: Math.min(capacity, settings.maxPerAccount),
    retryAfterSec,
    shedDelayMs: overrides.shedDelayMs ?? Math.min(retryAfterSec * 1000, Math.round(hashMs / workers)),
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
     * Before the account is known: would `admit` shed a request of the client at `address` whatever its account
     * (its client's share or the budget is full)? Then it is counted as shed here and the reason returned; else
     * undefined, and `admit` decides once the account is known. Takes no slot.
     */
    shedEarly(op: AdmissionOp, address: string): ShedReason | undefined {
      const reason: ShedReason | undefined =
        (perClient.get(clientBucket(address)) ?? 0) >= plan.maxPerClient
          ? 'client'
          : inFlight >= plan.capacity
            ? 'budget'
            : undefined;
      if (reason) observe.shed?.(op, reason);
      return reason;
    },

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
