import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUDIENCE, decodePart, ISSUER, mint, signRaw, testKey } from '@authstack/testing/tokens';
import { createVerifier, localKeySet, VerifyError, type VerifyErrorCode } from '../src/index.ts';

// Claim checks against an injected clock: a fixed instant, far from the wall clock, with a 10 s leeway.
const NOW = Date.UTC(2031, 0, 1) / 1000;
const LEEWAY = 10;

const key = testKey('RS256');
const verifier = createVerifier({
  issuer: ISSUER,
  audience: AUDIENCE,
  keys: localKeySet(() => [{ kid: key.kid, key: key.publicKey }]),
  clockToleranceSec: LEEWAY,
  now: () => NOW * 1000,
  cacheSize: 0,
});

// Tokens are signed by hand (signRaw), so claims of any type can be sent: jsonwebtoken's sign() would refuse some.
const header = { alg: 'RS256', typ: 'at+jwt', kid: key.kid };
const valid = () => decodePart(mint(key, { nowSec: NOW }), 1);
const claims = (values: Record<string, unknown>) => signRaw(key, header, { ...valid(), ...values });
const omit = (...names: string[]) =>
  signRaw(key, header, Object.fromEntries(Object.entries(valid()).filter(([name]) => !names.includes(name))));
const withHeader = (values: Record<string, unknown>) => signRaw(key, { ...header, ...values }, valid());

interface Refusal {
  code: VerifyErrorCode;
  claim?: string;
  reason?: 'missing' | 'invalid' | 'check_failed';
}

const refused: [string, () => string, Refusal][] = [
  // who: iss and aud
  ['iss is missing', () => omit('iss'), { code: 'issuer_invalid', claim: 'iss', reason: 'missing' }],
  ['iss is a number', () => claims({ iss: 42 }), { code: 'issuer_invalid', claim: 'iss', reason: 'invalid' }],
  [
    'iss names another issuer',
    () => claims({ iss: 'https://evil.test' }),
    { code: 'issuer_invalid', claim: 'iss', reason: 'check_failed' },
  ],
  [
    'iss differs by a trailing slash',
    () => claims({ iss: `${ISSUER}/` }),
    { code: 'issuer_invalid', claim: 'iss', reason: 'check_failed' },
  ],
  ['aud is missing', () => omit('aud'), { code: 'audience_invalid', claim: 'aud', reason: 'missing' }],
  [
    'aud is a number',
    () => claims({ aud: 7 }),
    { code: 'audience_invalid', claim: 'aud', reason: 'invalid' },
  ],
  [
    'aud is an array holding ours and a number',
    () => claims({ aud: [AUDIENCE, 7] }),
    { code: 'audience_invalid', claim: 'aud', reason: 'invalid' },
  ],
  [
    'aud names another audience',
    () => claims({ aud: 'another-api' }),
    { code: 'audience_invalid', claim: 'aud', reason: 'check_failed' },
  ],
  [
    'aud is an array without ours',
    () => claims({ aud: ['a', 'b'] }),
    { code: 'audience_invalid', claim: 'aud', reason: 'check_failed' },
  ],
  // what: the claims this stack relies on
  ...(['sub', 'username', 'sid', 'jti'] as const).flatMap((name): [string, () => string, Refusal][] => [
    [`${name} is missing`, () => omit(name), { code: 'claims_invalid', claim: name, reason: 'missing' }],
    [
      `${name} is a number`,
      () => claims({ [name]: 1 }),
      { code: 'claims_invalid', claim: name, reason: 'invalid' },
    ],
  ]),
  ['roles is missing', () => omit('roles'), { code: 'claims_invalid', claim: 'roles', reason: 'missing' }],
  [
    'roles is a string',
    () => claims({ roles: 'admin' }),
    { code: 'claims_invalid', claim: 'roles', reason: 'invalid' },
  ],
  [
    'roles holds a number',
    () => claims({ roles: ['user', 1] }),
    { code: 'claims_invalid', claim: 'roles', reason: 'invalid' },
  ],
  // when: exp, iat, nbf
  ['exp is missing', () => omit('exp'), { code: 'claims_invalid', claim: 'exp', reason: 'missing' }],
  [
    'exp is a string',
    () => claims({ exp: String(NOW + 300) }),
    { code: 'claims_invalid', claim: 'exp', reason: 'invalid' },
  ],
  ['iat is missing', () => omit('iat'), { code: 'claims_invalid', claim: 'iat', reason: 'missing' }],
  [
    'iat is a string',
    () => claims({ iat: String(NOW) }),
    { code: 'claims_invalid', claim: 'iat', reason: 'invalid' },
  ],
  [
    'nbf is a string',
    () => claims({ nbf: String(NOW) }),
    { code: 'claims_invalid', claim: 'nbf', reason: 'invalid' },
  ],
  [
    'exp is now minus the leeway',
    () => claims({ iat: NOW - 100, exp: NOW - LEEWAY }),
    { code: 'token_expired', claim: 'exp', reason: 'check_failed' },
  ],
  [
    'nbf is now plus the leeway plus 1 s',
    () => claims({ nbf: NOW + LEEWAY + 1 }),
    { code: 'token_not_yet_valid', claim: 'nbf', reason: 'check_failed' },
  ],
  [
    'iat is now plus the leeway plus 1 s',
    () => claims({ iat: NOW + LEEWAY + 1, exp: NOW + 300 }),
    { code: 'token_not_yet_valid', claim: 'iat', reason: 'check_failed' },
  ],
  // the typ header parameter (RFC 9068 section 4)
  [
    'typ is missing',
    () => withHeader({ typ: undefined }),
    { code: 'type_invalid', claim: 'typ', reason: 'missing' },
  ],
  [
    'typ is a number',
    () => withHeader({ typ: 1 }),
    { code: 'type_invalid', claim: 'typ', reason: 'invalid' },
  ],
  [
    'typ is JWT',
    () => withHeader({ typ: 'JWT' }),
    { code: 'type_invalid', claim: 'typ', reason: 'check_failed' },
  ],
  // not a claims set at all
  [
    'the payload is a JSON array',
    () => signRaw(key, header, [valid()] as unknown as Record<string, unknown>),
    { code: 'token_malformed' },
  ],
  [
    'the payload is a JSON string',
    () => signRaw(key, header, 'alice' as unknown as Record<string, unknown>),
    { code: 'token_malformed' },
  ],
  // claims are judged only once the signature holds
  [
    'the signature is another key and iss is wrong',
    () => mint({ ...testKey('RS256'), kid: key.kid }, { nowSec: NOW, claims: { iss: 'https://evil.test' } }),
    { code: 'signature_invalid' },
  ],
];

const accepted: [string, () => string][] = [
  ['exp is now minus the leeway plus 1 s', () => claims({ iat: NOW - 100, exp: NOW - LEEWAY + 1 })],
  ['nbf is now plus the leeway', () => claims({ nbf: NOW + LEEWAY })],
  ['iat is now plus the leeway', () => claims({ iat: NOW + LEEWAY, exp: NOW + 300 })],
  ['aud is an array holding ours', () => claims({ aud: ['another-api', AUDIENCE] })],
  ['typ is application/at+jwt', () => withHeader({ typ: 'application/at+jwt' })],
  ['typ is AT+JWT', () => withHeader({ typ: 'AT+JWT' })],
];

describe('access-token claims are checked by our own code', () => {
  for (const [name, build, expected] of refused) {
    it(`when ${name}, then ${expected.code}${expected.claim ? ` naming ${expected.claim} (${expected.reason})` : ''}`, async () => {
      await assert.rejects(verifier.verify(build()), {
        name: VerifyError.name,
        code: expected.code,
        claim: expected.claim,
        reason: expected.reason,
      });
    });
  }

  for (const [name, build] of accepted) {
    it(`when ${name}, then the token is valid`, async () => {
      const verified = await verifier.verify(build());
      assert.equal(verified.iss, ISSUER);
    });
  }
});
