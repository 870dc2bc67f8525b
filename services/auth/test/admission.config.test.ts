/** The admission-control settings are validated at start-up, and the plan follows the documented formula. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';
import { planAdmission } from '../src/domain/admission.ts';
import { newKek } from './support.ts';

const base = { KEY_ENCRYPTION_KEY: newKek(), PASSWORD_PEPPER: newKek() };

describe('admission control settings', () => {
  it('when nothing is set, then the pool is libuv default of 4, the budget derived and 2 per account', () => {
    const { admission } = loadConfig(base);
    assert.deepEqual(admission, {
      poolSize: 4,
      budgetMs: undefined,
      maxPerClient: undefined,
      maxPerAccount: 2,
    });
    assert.deepEqual(
      loadConfig({ ...base, UV_THREADPOOL_SIZE: '', BCRYPT_QUEUE_BUDGET_MS: '' }).admission,
      admission,
    );
  });

  it('when the settings are given, then they are read', () => {
    const { admission } = loadConfig({
      ...base,
      UV_THREADPOOL_SIZE: '8',
      BCRYPT_QUEUE_BUDGET_MS: '1500',
      BCRYPT_MAX_PER_CLIENT: '3',
      BCRYPT_MAX_PER_ACCOUNT: '1',
    });
    assert.deepEqual(admission, { poolSize: 8, budgetMs: 1500, maxPerClient: 3, maxPerAccount: 1 });
  });

  for (const [variable, value] of [
    ['UV_THREADPOOL_SIZE', '0'],
    ['UV_THREADPOOL_SIZE', '1025'],
    ['UV_THREADPOOL_SIZE', 'four'],
    ['BCRYPT_QUEUE_BUDGET_MS', '5'],
    ['BCRYPT_QUEUE_BUDGET_MS', '1.5'],
    ['BCRYPT_QUEUE_BUDGET_MS', '-100'],
    ['BCRYPT_MAX_PER_CLIENT', '0'],
    ['BCRYPT_MAX_PER_ACCOUNT', '0'],
    ['BCRYPT_MAX_PER_ACCOUNT', 'x'],
  ] as const) {
    it(`when ${variable}=${value}, then start-up stops naming ${variable}`, () => {
      assert.throws(
        () => loadConfig({ ...base, [variable]: value }),
        (error: unknown) => error instanceof ConfigError && error.variable === variable,
      );
    });
  }
});

describe('admission plan', () => {
  const settings = { poolSize: 4, budgetMs: undefined, maxPerClient: undefined, maxPerAccount: 2 };

  it('when the budget is derived, then it is two full pools rounded up to whole seconds, two rounds kept back', () => {
    const plan = planAdmission(settings, 200, 2);
    assert.equal(plan.workers, 2);
    assert.equal(plan.budgetMs, 1000); // 2 x 4 x 200 / 2 = 800 ms, rounded up to the Retry-After's second
    assert.equal(plan.capacity, 6); // floor(1000 x 2 / 200) - 2 x 2
    assert.equal(plan.maxPerClient, 1); // a quarter of the capacity, at least 1
    assert.equal(plan.maxPerAccount, 2);
    assert.equal(plan.retryAfterSec, 1);
  });

  it('when two full pools take longer than a second, then the derived budget is the next whole second', () => {
    const plan = planAdmission(settings, 700, 2); // bcrypt cost 14: 2 x 4 x 700 / 2 = 2800 ms
    assert.equal(plan.budgetMs, 3000);
    assert.equal(plan.capacity, 4); // floor(3000 x 2 / 700) - 2 x 2
    assert.equal(plan.retryAfterSec, 3);
  });

  it('when the pool is smaller than the cores, then the pool bounds the workers', () => {
    const plan = planAdmission({ ...settings, poolSize: 2 }, 100, 16);
    assert.equal(plan.workers, 2);
    assert.equal(plan.budgetMs, 1000);
    assert.equal(plan.capacity, 16); // floor(1000 x 2 / 100) - 2 x 2
    assert.equal(plan.maxPerClient, 4);
  });

  it('when a budget is set, then the capacity is what the workers serve within it less two rounds, at least one per worker', () => {
    assert.equal(planAdmission({ ...settings, budgetMs: 1000 }, 200, 2).capacity, 6);
    assert.equal(planAdmission({ ...settings, budgetMs: 709 }, 177, 2).budgetMs, 709); // a set budget is kept as set
    assert.equal(planAdmission({ ...settings, budgetMs: 2500 }, 200, 2).retryAfterSec, 3);
    assert.equal(planAdmission({ ...settings, budgetMs: 50 }, 200, 2).capacity, 2);
  });

  it('when the per-client or per-account cap exceeds the capacity, then the capacity bounds it', () => {
    const plan = planAdmission({ ...settings, maxPerClient: 100, maxPerAccount: 100 }, 200, 2);
    assert.equal(plan.maxPerClient, 6);
    assert.equal(plan.maxPerAccount, 6);
  });
});
