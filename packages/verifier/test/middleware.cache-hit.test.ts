import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUDIENCE, ISSUER, mint, testKey } from '@authstack/testing/tokens';
import type { NextFunction, Request, Response } from 'express';
import { createVerifier, localKeySet, requireAuth, VerifyError } from '../src/index.ts';

const key = testKey('RS256');

function setup(nowMs: { value: number }) {
  return createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: localKeySet(() => [{ kid: key.kid, key: key.publicKey }]),
    clockToleranceSec: 5,
    now: () => nowMs.value,
  });
}

/** Calls the middleware once; `sync` says whether `next` ran before the middleware returned. */
function call(handler: ReturnType<typeof requireAuth>, token: string) {
  const headers: Record<string, string> = {};
  const res = {
    locals: {} as Record<string, unknown>,
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
    },
  };
  let sync = false;
  let returned = false;
  const done = new Promise<unknown>((resolve) => {
    const next: NextFunction = (error?: unknown) => {
      sync = !returned;
      resolve(error);
    };
    handler({ headers: { authorization: `Bearer ${token}` } } as Request, res as unknown as Response, next);
    returned = true;
  });
  return { done, res, headers, sync: () => sync };
}

describe('requireAuth on a verified-token cache hit', () => {
  it('when the token was verified before, then it is passed on before the middleware returns', async () => {
    const clock = { value: Date.now() };
    const verifier = setup(clock);
    const token = mint(key, { nowSec: Math.floor(clock.value / 1000) });
    await verifier.verify(token);
    const hit = call(requireAuth(verifier), token);
    assert.equal(await hit.done, undefined);
    assert.equal(hit.sync(), true, 'a cache hit needs no promise');
    assert.equal((hit.res.locals.auth as { username: string }).username, 'alice');
  });

  it('when the cached token has passed exp plus leeway, then it is refused with token_expired', async () => {
    const clock = { value: Date.now() };
    const verifier = setup(clock);
    const token = mint(key, { nowSec: Math.floor(clock.value / 1000), ttlSec: 60 });
    await verifier.verify(token);
    clock.value += 66_000;
    const late = call(requireAuth(verifier), token);
    const error = await late.done;
    assert.ok(error instanceof VerifyError);
    assert.equal(error.code, 'token_expired');
    assert.match(late.headers['www-authenticate'] ?? '', /error="invalid_token"/);
  });

  it('when a check is configured, then a cached token still waits for it and its refusal', async () => {
    const clock = { value: Date.now() };
    const verifier = setup(clock);
    const token = mint(key, { nowSec: Math.floor(clock.value / 1000) });
    await verifier.verify(token);
    const revoked = call(
      requireAuth(verifier, {
        check: async () => {
          throw new VerifyError('session_revoked');
        },
      }),
      token,
    );
    const error = await revoked.done;
    assert.ok(error instanceof VerifyError);
    assert.equal(error.code, 'session_revoked');
    assert.equal(revoked.sync(), false);
  });
});
