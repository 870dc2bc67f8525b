/**
 * The verifier peers' correctness rows alone, without the timed load: a real auth service signs a real token, each
 * peer runs as the benchmark runs it (bench/peer-server.ts, a process of its own), and gets each forged token once.
 * The verdicts are what `make bench` writes into the correctness table of docs/benchmarks.md.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningAuth } from '@authstack/auth/server';
import { PEERS, type Peer } from '../peer-server.ts';
import {
  ATTACKS,
  type Attack,
  acceptsValid,
  CANNOT,
  correctnessOf,
  forgeriesFor,
  peerEnv,
  type Verdict,
} from '../peers.ts';
import { startNodeServer } from '../procs.ts';
import { type BenchEnv, benchEnv, login, registerUsers, startAuthInProcess } from '../stack.ts';

describe('the verifier peers refuse every forged token they can check', () => {
  let env: BenchEnv;
  let auth: RunningAuth;
  let valid = '';
  let forged: Record<Attack, string>;
  const rows = new Map<Peer, { valid: boolean; correctness: Record<Attack, Verdict> }>();

  before(
    async () => {
      env = await benchEnv();
      auth = await startAuthInProcess(env, 4);
      const [user] = await registerUsers(auth.url, 1);
      valid = (await login(auth.url, user!)).access_token;
      forged = await forgeriesFor(auth, valid);
      for (const peer of PEERS.filter((p) => p !== 'limit')) {
        const server = await startNodeServer('bench/peer-server.ts', { ...peerEnv(auth), BENCH_PEER: peer });
        try {
          const url = `${server.url}/api/protected`;
          rows.set(peer, {
            valid: await acceptsValid(url, valid),
            correctness: await correctnessOf(peer, url, forged),
          });
        } finally {
          await server.stop();
        }
      }
    },
    { timeout: 120_000 },
  );
  after(async () => {
    await auth?.stop();
    await env?.clear();
  });

  it('when a peer gets the valid token, then it accepts it', () => {
    for (const [peer, row] of rows) assert.equal(row.valid, true, peer);
  });

  it('when @authstack/verifier gets each forged token, a crit header included, then it refuses every one', () => {
    for (const peer of ['verifier-cache', 'verifier-no-cache'] as const) {
      const correctness = rows.get(peer)?.correctness;
      assert.deepEqual(correctness, Object.fromEntries(ATTACKS.map((attack) => [attack, 'refused'])), peer);
    }
  });

  it('when a peer gets a forged token, then it refuses it, unless the library has no setting for that check', () => {
    for (const [peer, row] of rows) {
      for (const attack of ATTACKS) {
        const expected = CANNOT[peer]?.includes(attack) ? ['cannot check', 'refused'] : ['refused'];
        assert.ok(
          expected.includes(row.correctness[attack]),
          `${peer}: ${attack} -> ${row.correctness[attack]}`,
        );
      }
    }
  });

  it('when jose and express-oauth2-jwt-bearer get a crit header, then they refuse it; passport-jwt (jsonwebtoken) lets it through', () => {
    assert.equal(rows.get('jose')?.correctness['crit header'], 'refused');
    assert.equal(rows.get('express-oauth2-jwt-bearer')?.correctness['crit header'], 'refused');
    assert.equal(rows.get('passport-jwt')?.correctness['crit header'], 'cannot check');
  });
});
