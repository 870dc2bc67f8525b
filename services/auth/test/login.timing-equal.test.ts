/**
 * Unknown user, wrong password and disabled account cost the same bcrypt work,
 * whatever costs the stored hashes have. No timing: an injected bcrypt records the cost of every comparison,
 * and the work of one login is the sum of 2^cost over them.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { http, suiteScope, usePgClient } from '@authstack/testing';
import bcrypt from 'bcrypt';
import type pg from 'pg';
import type { Bcrypt } from '../src/domain/passwords.ts';
import {
  migratedDatabase,
  STRONG_PASSWORD,
  startTestAuth,
  type TestAuth,
  testEnv,
  username,
} from './support.ts';

describe('equal bcrypt work on every refused login, after cost changes', () => {
  const scope = suiteScope();
  let env: Record<string, string | undefined>;
  let sql: pg.Client;
  const compares: number[] = [];
  const recording: Bcrypt = {
    hash: (data, cost) => bcrypt.hash(data, cost),
    compare: (data, hash) => {
      compares.push(bcrypt.getRounds(hash));
      return bcrypt.compare(data, hash);
    },
  };
  /** The bcrypt work (sum of 2^cost) of one login through `auth`, and its status. */
  const workOf = async (auth: TestAuth, name: string, password: string) => {
    compares.length = 0;
    const res = await http(`${auth.url}/auth/login`, { body: { username: name, password } });
    return {
      status: res.status,
      code: res.body.code,
      work: compares.reduce((sum, cost) => sum + 2 ** cost, 0),
      costs: [...compares],
    };
  };
  const registerAt = async (cost: number) => {
    const instance = await startTestAuth({ ...env, BCRYPT_COST: String(cost) });
    try {
      const name = username(`c${cost}`);
      const res = await http(`${instance.url}/auth/register`, {
        body: { username: name, password: STRONG_PASSWORD },
      });
      assert.equal(res.status, 201);
      return name;
    } finally {
      await instance.stop();
    }
  };

  before(async () => {
    const db = await migratedDatabase(scope);
    env = testEnv(db);
    sql = await usePgClient(scope, db.url);
  });

  it('when BCRYPT_COST was raised and lowered, then unknown, wrong-password and disabled logins all cost one comparison at the highest stored cost', async () => {
    const old = await registerAt(4);
    const disabled = await registerAt(4);
    await sql.query('UPDATE users SET disabled = true WHERE username = $1', [disabled]);
    const costly = await registerAt(6);
    const auth = await startTestAuth({ ...env, BCRYPT_COST: '5' }, { bcrypt: recording });
    try {
      const current = username('c5');
      assert.equal(
        (await http(`${auth.url}/auth/register`, { body: { username: current, password: STRONG_PASSWORD } }))
          .status,
        201,
      );
      const unknown = await workOf(auth, username('ghost'), STRONG_PASSWORD);
      assert.deepEqual(
        unknown.costs,
        [6],
        'an unknown user is compared with a dummy at the highest cost present',
      );
      const attempts = {
        unknown,
        'wrong password, cost-4 hash': await workOf(auth, old, 'wrong password'),
        'wrong password, cost-5 hash': await workOf(auth, current, 'wrong password'),
        'wrong password, cost-6 hash': await workOf(auth, costly, 'wrong password'),
        'disabled, right password': await workOf(auth, disabled, STRONG_PASSWORD),
        'disabled, wrong password': await workOf(auth, disabled, 'wrong password'),
      };
      for (const [label, attempt] of Object.entries(attempts)) {
        assert.equal(attempt.status, 401, label);
        assert.equal(attempt.code, 'invalid_credentials', label);
        assert.equal(attempt.work, 2 ** 6, `${label}: costs ${attempt.costs.join(', ')}`);
      }
    } finally {
      await auth.stop();
    }
  });

  it('when a costlier hash appears after start-up, then unknown users cost as much from the first time it is met', async () => {
    const auth = await startTestAuth({ ...env, BCRYPT_COST: '4' }, { bcrypt: recording });
    try {
      const before = auth.service.useCases.passwords.targetCost();
      const costlier = await registerAt(before + 1); // by another replica, configured higher
      assert.equal((await workOf(auth, costlier, 'wrong password')).work, 2 ** (before + 1));
      const unknown = await workOf(auth, username('ghost'), STRONG_PASSWORD);
      assert.deepEqual(unknown.costs, [before + 1]);
    } finally {
      await auth.stop();
    }
  });
});
