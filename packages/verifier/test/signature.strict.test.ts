import assert from 'node:assert/strict';
import crypto, {
  constants,
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  sign,
  type VerifyKeyObjectInput,
} from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { describe, it, mock } from 'node:test';
import { AUDIENCE, decodePart, ISSUER, mint, testKey } from '@authstack/testing/tokens';
import { createVerifier, localKeySet, type STEPS, type VerificationKey, VerifyError } from '../src/index.ts';

// The signature step is the verifier's own code (node:crypto), so every strictness a JWT library used to give is
// pinned here: the token's shape, the signature's spelling and length, the padding and encoding per algorithm, the
// key, and a payload that is not a JSON object. Each case is checked through verify() and through explain().
const NOW = Date.UTC(2031, 0, 1) / 1000;
const rsa = testKey('RS256');
const ec = testKey('ES256');
const pss = { kid: 'pss', ...generateKeyPairSync('rsa', { modulusLength: 2048 }) };
const claims = decodePart(mint(rsa, { nowSec: NOW }), 1);

function verifierWith(keys: VerificationKey[] = []) {
  return createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['RS256', 'PS256', 'ES256'],
    keys: localKeySet(() => [
      { kid: rsa.kid, key: rsa.publicKey },
      { kid: ec.kid, key: ec.publicKey },
      { kid: pss.kid, key: pss.publicKey },
      ...keys,
    ]),
    now: () => NOW * 1000,
    cacheSize: 0,
  });
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const json = (value: unknown) => b64(JSON.stringify(value));
const headerOf = (alg: string, kid: string) => ({ alg, typ: 'at+jwt', kid });

type Signer = (input: Buffer) => Buffer;
const signers = {
  RS256: (input: Buffer) => sign('sha256', input, rsa.privateKey),
  ES256: (input: Buffer) => sign('sha256', input, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
  PS256: (input: Buffer) =>
    sign('sha256', input, { key: pss.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
} satisfies Record<string, Signer>;

/** `header.payload.signature` with any payload text and any signer, the signature's bytes edited by `edit`. */
function token(
  header: Record<string, unknown>,
  payloadPart: string,
  signer: Signer,
  edit: (signature: Buffer) => Buffer = (s) => s,
): string {
  const input = `${json(header)}.${payloadPart}`;
  return `${input}.${edit(signer(Buffer.from(input))).toString('base64url')}`;
}

const good = {
  RS256: () => token(headerOf('RS256', rsa.kid), json(claims), signers.RS256),
  ES256: () => token(headerOf('ES256', ec.kid), json(claims), signers.ES256),
  PS256: () => token(headerOf('PS256', pss.kid), json(claims), signers.PS256),
};

/** The signature part spelt differently for the same bytes: the unused low bits of its last character set. */
function nonCanonical(value: string): string {
  const [h, p, s] = value.split('.') as [string, string, string];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(s.at(-1)!);
  const respelt = `${s.slice(0, -1)}${alphabet[last | 1]}`;
  assert.notEqual(respelt, s, 'the signature has unused bits to set');
  assert.deepEqual(Buffer.from(respelt, 'base64url'), Buffer.from(s, 'base64url'), 'the same bytes');
  return `${h}.${p}.${respelt}`;
}

async function codeOf(value: string, keys: VerificationKey[] = []): Promise<string> {
  try {
    await verifierWith(keys).verify(value);
    return 'valid';
  } catch (error) {
    assert.ok(error instanceof VerifyError, `expected a VerifyError, got ${String(error)}`);
    return error.code;
  }
}

describe('the signature step and the token shape, checked by the verifier itself', () => {
  for (const alg of ['RS256', 'ES256', 'PS256'] as const) {
    it(`when a ${alg} token is signed as RFC 7518 says, then it is valid`, async () => {
      assert.equal(await codeOf(good[alg]()), 'valid');
    });
  }

  const refused: [string, (typeof STEPS)[number], () => string, string][] = [
    ['two parts', 'format', () => good.RS256().split('.').slice(0, 2).join('.'), 'token_malformed'],
    ['four parts', 'format', () => `${good.RS256()}.${b64('more')}`, 'token_malformed'],
    [
      'an empty header part',
      'format',
      () => `.${good.RS256().split('.').slice(1).join('.')}`,
      'token_malformed',
    ],
    [
      'a header that is not JSON',
      'format',
      () => token({}, json(claims), signers.RS256).replace(/^[^.]+/, b64('{alg')),
      'token_malformed',
    ],
    [
      'a padded payload part',
      'format',
      () => {
        const [h, p, s] = good.RS256().split('.');
        return `${h}.${p}=.${s}`;
      },
      'token_malformed',
    ],
    ['a padded signature', 'format', () => `${good.RS256()}==`, 'token_malformed'],
    [
      'base64 "+" and "/" in the signature',
      'format',
      () => `${good.RS256().slice(0, -2)}+/`,
      'token_malformed',
    ],
    ['a space in the signature', 'format', () => `${good.RS256().slice(0, -1)} `, 'token_malformed'],
    [
      'alg none and no signature',
      'algorithm',
      () => `${json({ ...headerOf('none', rsa.kid) })}.${json(claims)}.`,
      'algorithm_not_allowed',
    ],
    [
      'HS256 with the public key as secret',
      'algorithm',
      () => {
        const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
        return token(headerOf('HS256', rsa.kid), json(claims), (input) =>
          createHmac('sha256', pem).update(input).digest(),
        );
      },
      'algorithm_not_allowed',
    ],
    [
      'RS256 in the header and an HMAC keyed with the public key as the signature',
      'signature',
      () => {
        const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
        return token(headerOf('RS256', rsa.kid), json(claims), (input) =>
          createHmac('sha256', pem).update(input).digest(),
        );
      },
      'signature_invalid',
    ],
    ['a stripped signature', 'signature', () => good.RS256().replace(/[^.]*$/, ''), 'signature_invalid'],
    [
      'an RS256 signature spelt non-canonically',
      'signature',
      () => nonCanonical(good.RS256()),
      'signature_invalid',
    ],
    [
      'an ES256 signature spelt non-canonically',
      'signature',
      () => nonCanonical(good.ES256()),
      'signature_invalid',
    ],
    [
      'an RS256 signature one byte short',
      'signature',
      () => token(headerOf('RS256', rsa.kid), json(claims), signers.RS256, (s) => s.subarray(1)),
      'signature_invalid',
    ],
    [
      'an RS256 signature with a zero byte in front',
      'signature',
      () =>
        token(headerOf('RS256', rsa.kid), json(claims), signers.RS256, (s) =>
          Buffer.concat([Buffer.alloc(1), s]),
        ),
      'signature_invalid',
    ],
    [
      'an ES256 signature one byte short',
      'signature',
      () => token(headerOf('ES256', ec.kid), json(claims), signers.ES256, (s) => s.subarray(0, 63)),
      'signature_invalid',
    ],
    [
      'an ES256 signature one byte long',
      'signature',
      () =>
        token(headerOf('ES256', ec.kid), json(claims), signers.ES256, (s) =>
          Buffer.concat([s, Buffer.alloc(1)]),
        ),
      'signature_invalid',
    ],
    [
      'an ES256 signature in DER instead of R || S',
      'signature',
      () => token(headerOf('ES256', ec.kid), json(claims), (input) => sign('sha256', input, ec.privateKey)),
      'signature_invalid',
    ],
    [
      'PS256 in the header and a PKCS#1 v1.5 signature',
      'signature',
      () => token(headerOf('PS256', pss.kid), json(claims), (input) => sign('sha256', input, pss.privateKey)),
      'signature_invalid',
    ],
    [
      'PS256 with a salt longer than the hash',
      'signature',
      () =>
        token(headerOf('PS256', pss.kid), json(claims), (input) =>
          sign('sha256', input, {
            key: pss.privateKey,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: 64,
          }),
        ),
      'signature_invalid',
    ],
    [
      'a payload that is not JSON, signed',
      'claims_set',
      () => token(headerOf('RS256', rsa.kid), b64('{"sub": "alice"'), signers.RS256),
      'token_malformed',
    ],
    [
      'a payload that is a JSON array, signed',
      'claims_set',
      () => token(headerOf('RS256', rsa.kid), json([claims]), signers.RS256),
      'token_malformed',
    ],
    [
      'a payload that is a JSON string, signed',
      'claims_set',
      () => token(headerOf('RS256', rsa.kid), json('alice'), signers.RS256),
      'token_malformed',
    ],
    [
      'a payload that is JSON null, signed',
      'claims_set',
      () => token(headerOf('RS256', rsa.kid), json(null), signers.RS256),
      'token_malformed',
    ],
  ];
  for (const [name, step, make, code] of refused) {
    it(`when the token has ${name}, then the ${step} step refuses it with ${code}`, async () => {
      const value = make();
      assert.equal(await codeOf(value), code);
      const explanation = await verifierWith().explain(value);
      assert.equal(explanation.code, code);
      assert.equal(explanation.steps.find((s) => s.outcome === 'failed')?.step, step);
    });
  }

  it('when a PS256 signature starting with a zero byte comes without that byte, then it is refused (OpenSSL alone would accept it)', async () => {
    let value = '';
    for (let n = 0; n < 10_000 && !value; n++) {
      const signed = token(headerOf('PS256', pss.kid), json({ ...claims, jti: `jti-${n}` }), signers.PS256);
      if (Buffer.from(signed.split('.')[2]!, 'base64url')[0] === 0) value = signed;
    }
    assert.ok(value, 'a signature with a leading zero byte (about one in 256)');
    assert.equal(await codeOf(value), 'valid');
    const [h, p, sig] = value.split('.') as [string, string, string];
    const stripped = `${h}.${p}.${Buffer.from(sig, 'base64url').subarray(1).toString('base64url')}`;
    assert.equal(await codeOf(stripped), 'signature_invalid');
  });

  it('when the key source holds a private key, then the token is refused at the signature step, though the key could verify it', async () => {
    const value = token(headerOf('RS256', 'private'), json(claims), signers.RS256);
    assert.equal(await codeOf(value, [{ kid: 'private', key: rsa.privateKey }]), 'signature_invalid');
  });

  it("when an rsa-pss key's own parameters name SHA-384, then a PS256 token for it is refused; with SHA-256 parameters it verifies", async () => {
    const restricted = (hashAlgorithm: string) => {
      const pair = generateKeyPairSync('rsa-pss', {
        modulusLength: 2048,
        hashAlgorithm,
        mgf1HashAlgorithm: hashAlgorithm,
      });
      return { kid: `rsa-pss-${hashAlgorithm}`, ...pair };
    };
    // The SHA-384 key can only make SHA-384 signatures (salt 48 bytes): what its holder would send as "PS256".
    for (const [hash, saltLength, expected] of [
      ['sha256', 32, 'valid'],
      ['sha384', 48, 'signature_invalid'],
    ] as const) {
      const key = restricted(hash);
      const value = token(headerOf('PS256', key.kid), json(claims), (input) =>
        sign(hash, input, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }),
      );
      assert.equal(await codeOf(value, [{ kid: key.kid, key: key.publicKey }]), expected, hash);
    }
  });

  it('when a signature is checked, then node:crypto verifies it with a callback (on the thread pool, off the main thread)', async (t) => {
    const calls: { hash: unknown; callback: unknown; key: unknown }[] = [];
    const original = crypto.verify;
    t.after(() => {
      mock.restoreAll();
      syncBuiltinESMExports();
    });
    mock.method(crypto, 'verify', ((...args: Parameters<typeof original>) => {
      calls.push({ hash: args[0], key: args[2], callback: args[4] });
      return (original as (...a: unknown[]) => unknown)(...args);
    }) as typeof original);
    syncBuiltinESMExports();
    for (const alg of ['RS256', 'ES256', 'PS256'] as const)
      assert.equal(await codeOf(good[alg]()), 'valid', alg);
    assert.equal(calls.length, 3);
    assert.ok(calls.every((call) => call.hash === 'sha256' && typeof call.callback === 'function'));
    const [rs, es, ps] = calls.map((call) => call.key as KeyObject | VerifyKeyObjectInput);
    assert.equal(rs, rsa.publicKey);
    assert.deepEqual(es, { key: ec.publicKey, dsaEncoding: 'ieee-p1363' });
    assert.deepEqual(ps, { key: pss.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  });

  it('when the payload is not JSON, then explain() reports the signature as verified and the claims set as refused', async () => {
    const value = token(headerOf('RS256', rsa.kid), b64('not json'), signers.RS256);
    const explanation = await verifierWith().explain(value);
    const outcome = (step: string) => explanation.steps.find((s) => s.step === step)?.outcome;
    assert.deepEqual(
      [outcome('signature'), outcome('claims_set'), outcome('issuer')],
      ['passed', 'failed', 'not_reached'],
    );
  });
});
