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

describe('requireAuth with a check on a verified-token cache hit', () => {
  it('when the token is cached, then only the check is awaited (no second verification) and it runs on every request', async () => {
    const clock = { value: Date.now() };
    const inner = setup(clock);
    const token = mint(key, { nowSec: Math.floor(clock.value / 1000) });
    await inner.verify(token);
    let verifications = 0;
    const verifier = {
      ...inner,
      peek: inner.peek?.bind(inner),
      verify: (t: string | undefined) => {
        verifications += 1;
        return inner.verify(t);
      },
    };
    let alive = true;
    const seen: string[] = [];
    const handler = requireAuth(verifier, {
      check: async (claims) => {
        seen.push(claims.sid);
        if (!alive) throw new VerifyError('session_revoked');
      },
    });
    const ok = call(handler, token);
    assert.equal(await ok.done, undefined);
    assert.equal((ok.res.locals.auth as { username: string }).username, 'alice');
    alive = false; // revoked between two requests: the very next one is refused
    const refused = call(handler, token);
    const error = await refused.done;
    assert.ok(error instanceof VerifyError);
    assert.equal(error.code, 'session_revoked');
    assert.equal(refused.res.locals.auth, undefined, 'no claims for a refused request');
    assert.match(refused.headers['www-authenticate'] ?? '', /error="invalid_token"/);
    assert.equal(seen.length, 2, 'the check ran for each request');
    assert.equal(verifications, 0, 'the cached claims were used, not a new verification');
  });

  it('when the cached token has passed exp plus leeway, then it is refused with token_expired and the check is not asked', async () => {
    const clock = { value: Date.now() };
    const verifier = setup(clock);
    const token = mint(key, { nowSec: Math.floor(clock.value / 1000), ttlSec: 60 });
    await verifier.verify(token);
    clock.value += 66_000;
    let checks = 0;
    const late = call(
      requireAuth(verifier, {
        check: async () => {
          checks += 1;
        },
      }),
      token,
    );
    const error = await late.done;
    assert.ok(error instanceof VerifyError);
    assert.equal(error.code, 'token_expired');
    assert.equal(checks, 0);
  });
});
