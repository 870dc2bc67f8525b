/**
 * The tests' gateway (infra/nginx/local-gateway.ts) on a host without nginx: it must fail at once and say so, not
 * wait on a process that never started (it once hung a run for minutes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathWithout, testScope, useTempDir } from '@authstack/testing';
import { makeCerts, startGateway } from '../nginx/local-gateway.ts';

describe('the test gateway without nginx', () => {
  it('when nginx is not on PATH, then startGateway rejects promptly, naming nginx', async (t) => {
    const certs = makeCerts();
    t.after(() => certs.remove());
    const saved = process.env.PATH;
    process.env.PATH = pathWithout(useTempDir(testScope(t), 'authstack-no-nginx'), ['nginx']);
    t.after(() => {
      process.env.PATH = saved;
    });
    const started = Date.now();
    await assert.rejects(
      startGateway({ certs, authUpstream: '127.0.0.1:9', resourceUpstream: '127.0.0.1:9' }),
      /nginx could not be started \(is it installed and on PATH\?\)/,
    );
    assert.ok(Date.now() - started < 5_000, 'refused within a few seconds, not at the health deadline');
  });
});
