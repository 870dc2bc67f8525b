import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { AUDIENCE, decodePart, forge, ISSUER, mint, signRaw, testKey } from '@authstack/testing/tokens';
import {
  createVerifier,
  KeySetUnavailableError,
  type KeySource,
  localKeySet,
  STEPS,
  VerifyError,
} from '../src/index.ts';

// explain() runs verify()'s own pipeline and reports each step: the same verdict and code, never an authorisation.
const NOW = Date.UTC(2031, 0, 1) / 1000;
const key = testKey('RS256');
const stranger = testKey('RS256');
const keys = localKeySet(() => [{ kid: key.kid, key: key.publicKey }]);
const verifierWith = (keySource: KeySource = keys) =>
  createVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: keySource, now: () => NOW * 1000 });

const good = () => mint(key, { nowSec: NOW });
const header = { alg: 'RS256', typ: 'at+jwt', kid: key.kid };

async function refusal(token: string | undefined): Promise<VerifyError> {
  const error = await verifierWith()
    .verify(token)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(error instanceof VerifyError, 'verify() should refuse this token');
  return error;
}

describe('explain: the verification pipeline, step by step', () => {
  it('when the token is good, then every step passed, in the pipeline order, and it is valid', async () => {
    const explanation = await verifierWith().explain(good());
    assert.equal(explanation.valid, true);
    assert.deepEqual(
      explanation.steps.map((s) => s.step),
      STEPS,
    );
    assert.ok(explanation.steps.every((s) => s.outcome === 'passed'));
    assert.equal(explanation.at, NOW);
    assert.equal(explanation.leewaySec, 10);
  });

  const refused: [string, string, () => string | undefined, string][] = [
    ['no token', 'format', () => undefined, 'token_missing'],
    ['two parts', 'format', () => 'abc.def', 'token_malformed'],
    [
      'a crit header parameter',
      'format',
      () => mint(key, { nowSec: NOW, header: { crit: ['urn:example:must-understand'] } }),
      'token_malformed',
    ],
    [
      'alg none',
      'algorithm',
      () => forge({ ...header, alg: 'none' }, decodePart(good(), 1)),
      'algorithm_not_allowed',
    ],
    [
      'HS256 with the public key as secret',
      'algorithm',
      () => {
        const input = `${good().split('.').slice(0, 2).join('.')}`;
        const pem = key.publicKey.export({ type: 'spki', format: 'pem' });
        const forged = forge({ ...header, alg: 'HS256' }, decodePart(good(), 1));
        return `${forged}${createHmac('sha256', pem).update(input).digest('base64url')}`;
      },
      'algorithm_not_allowed',
    ],
    ['typ JWT', 'type', () => signRaw(key, { ...header, typ: 'JWT' }, decodePart(good(), 1)), 'type_invalid'],
    ['an unknown kid', 'kid', () => mint(stranger, { nowSec: NOW }), 'key_unknown'],
    [
      'an edited payload',
      'signature',
      () => {
        const [h, , s] = good().split('.');
        const edited = forge({}, { ...decodePart(good(), 1), roles: ['admin'] }).split('.')[1];
        return `${h}.${edited}.${s}`;
      },
      'signature_invalid',
    ],
    [
      'another issuer',
      'issuer',
      () => mint(key, { nowSec: NOW, claims: { iss: 'https://evil.test' } }),
      'issuer_invalid',
    ],
    [
      'another audience',
      'audience',
      () => mint(key, { nowSec: NOW, claims: { aud: 'other' } }),
      'audience_invalid',
    ],
    [
      'no username',
      'required_claims',
      () => mint(key, { nowSec: NOW, omit: ['username'] }),
      'claims_invalid',
    ],
    ['an expired token', 'time', () => mint(key, { nowSec: NOW - 3600, ttlSec: 300 }), 'token_expired'],
  ];
  for (const [name, step, token, code] of refused) {
    it(`when the token has ${name}, then the ${step} step fails with ${code}, as verify() does, and later steps are not reached`, async () => {
      const value = token();
      const explanation = await verifierWith().explain(value);
      assert.equal(explanation.valid, false);
      assert.equal(explanation.code, code);
      assert.equal(explanation.code, (await refusal(value)).code);
      const index = STEPS.indexOf(step as (typeof STEPS)[number]);
      assert.deepEqual(
        explanation.steps.map((s) => s.outcome),
        STEPS.map((_, i) => (i < index ? 'passed' : i === index ? 'failed' : 'not_reached')),
      );
      assert.equal(explanation.steps[index]!.code, code);
    });
  }

  it('when a claim fails, then the explanation names the claim and the reason, like the VerifyError', async () => {
    const token = mint(key, { nowSec: NOW, claims: { aud: 'other' } });
    const explanation = await verifierWith().explain(token);
    const error = await refusal(token);
    assert.deepEqual(
      { claim: explanation.claim, reason: explanation.reason },
      { claim: error.claim, reason: error.reason },
    );
    assert.deepEqual(
      { claim: explanation.claim, reason: explanation.reason },
      { claim: 'aud', reason: 'check_failed' },
    );
  });

  it('when a good token is judged after its exp plus the leeway, then the time step refuses it with token_expired', async () => {
    const token = good();
    const exp = decodePart(token, 1).exp as number;
    assert.equal((await verifierWith().explain(token, { at: exp + 9 })).valid, true); // within the leeway
    const late = await verifierWith().explain(token, { at: exp + 10 });
    assert.deepEqual([late.valid, late.code, late.claim], [false, 'token_expired', 'exp']);
  });

  it('when a good token is judged for another audience, then the audience step refuses it', async () => {
    const explanation = await verifierWith().explain(good(), { audience: 'another-api' });
    assert.deepEqual(
      [explanation.valid, explanation.code, explanation.audience],
      [false, 'audience_invalid', 'another-api'],
    );
  });

  it('when a token is explained, then it is neither cached nor counted; once verified, the explanation reports the cache hit', async () => {
    const verifier = verifierWith();
    const token = good();
    assert.equal((await verifier.explain(token)).cacheHit, false);
    assert.deepEqual(verifier.stats(), { cacheHits: 0, cacheMisses: 0, cacheSize: 0 });
    await verifier.verify(token);
    assert.equal((await verifier.explain(token)).cacheHit, true);
    assert.deepEqual(verifier.stats(), { cacheHits: 0, cacheMisses: 1, cacheSize: 1 });
  });

  it('when no key set could be loaded, then the kid step fails with keys_unavailable, not a refusal of the token', async () => {
    const unavailable: KeySource = {
      getKey: async () => {
        throw new KeySetUnavailableError();
      },
      ready: () => false,
    };
    const explanation = await verifierWith(unavailable).explain(good());
    assert.deepEqual([explanation.valid, explanation.code], [false, 'keys_unavailable']);
    assert.equal(explanation.steps.find((s) => s.outcome === 'failed')?.step, 'kid');
  });
});
