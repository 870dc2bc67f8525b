/**
 * The signature step (RFC 7515 section 5.2, algorithms of RFC 7518 section 3) with `node:crypto` alone.
 *
 * `crypto.verify` is called with a callback, so the public-key operation runs on libuv's thread pool, as jose's
 * does: requests arriving together are verified on every core while the main thread parses and routes the next
 * ones. The signing input and the signature come from the token as `header.ts` split it once; the payload is
 * decoded only after the signature holds.
 *
 * What is checked here, each refusal `signature_invalid` (as when jsonwebtoken did this step):
 * - the key is a public key (a private `KeyObject` could verify too, but never belongs in a key source), and an
 *   `rsa-pss` key's own parameters allow the algorithm (hash, MGF1 hash, salt length);
 * - the signature is canonical base64url (no other spelling of the same bytes) of exactly the length the
 *   algorithm and key give: the RSA modulus length in bytes (RFC 8017 section 8.2.2), or 64 / 96 bytes of
 *   R || S for ES256 / ES384 (RFC 7518 section 3.4);
 * - the signature verifies: RSASSA-PKCS1-v1_5 for RS*, RSASSA-PSS with MGF1 of the same hash and a salt as long
 *   as the hash for PS* (RFC 7518 section 3.5), ECDSA with the JOSE encoding of R || S (`ieee-p1363`) for ES*.
 */
import { constants, type KeyObject, verify } from 'node:crypto';
import { VerifyError } from './errors.ts';
import { type Algorithm, keyDetails } from './keys.ts';

interface Scheme {
  hash: 'sha256' | 'sha384' | 'sha512';
  /** Bytes of the hash: the PSS salt length. */
  hashBytes: number;
  kind: 'pkcs1' | 'pss' | 'ecdsa';
  /** ECDSA: bytes of R || S. */
  ecdsaBytes?: number;
}

const SCHEMES: Record<Algorithm, Scheme> = {
  RS256: { hash: 'sha256', hashBytes: 32, kind: 'pkcs1' },
  RS384: { hash: 'sha384', hashBytes: 48, kind: 'pkcs1' },
  RS512: { hash: 'sha512', hashBytes: 64, kind: 'pkcs1' },
  PS256: { hash: 'sha256', hashBytes: 32, kind: 'pss' },
  ES256: { hash: 'sha256', hashBytes: 32, kind: 'ecdsa', ecdsaBytes: 64 },
  ES384: { hash: 'sha384', hashBytes: 48, kind: 'ecdsa', ecdsaBytes: 96 },
};

/** The parts of a compact JWS the signature step reads, as `header.ts` split them. */
export interface SignedParts {
  /** `BASE64URL(header) || '.' || BASE64URL(payload)`: what the signature covers. */
  signingInput: string;
  /** The third part, base64url. */
  signature: string;
}

/** Can this key verify `alg` at all? (jsonwebtoken's own rules, kept: a public key; rsa-pss parameters that fit.) */
function keyUsable(key: KeyObject, scheme: Scheme): boolean {
  if (key.type !== 'public') return false;
  if (key.asymmetricKeyType !== 'rsa-pss') return true;
  const { hashAlgorithm, mgf1HashAlgorithm, saltLength } = keyDetails(key);
  return (
    scheme.kind === 'pss' &&
    hashAlgorithm === scheme.hash &&
    mgf1HashAlgorithm === scheme.hash &&
    (saltLength === undefined || saltLength <= scheme.hashBytes)
  );
}

function expectedLength(key: KeyObject, scheme: Scheme): number {
  if (scheme.ecdsaBytes !== undefined) return scheme.ecdsaBytes;
  return Math.ceil((keyDetails(key).modulusLength ?? 0) / 8);
}

function check(
  hash: string,
  data: Buffer,
  key: Parameters<typeof verify>[2],
  signature: Buffer,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    verify(hash, data, key, signature, (error, valid) => (error ? reject(error) : resolve(valid)));
  });
}

/**
 * Resolves when the signature of `parts` holds for `key` and `alg`; rejects with `VerifyError('signature_invalid')`
 * otherwise. `key` has already been found to fit `alg` (`keyFitsAlgorithm`).
 */
export async function verifySignature(parts: SignedParts, key: KeyObject, alg: Algorithm): Promise<void> {
  const scheme = SCHEMES[alg];
  if (!scheme || !keyUsable(key, scheme)) throw new VerifyError('signature_invalid');
  const signature = Buffer.from(parts.signature, 'base64url');
  if (
    signature.length !== expectedLength(key, scheme) ||
    signature.toString('base64url') !== parts.signature
  ) {
    throw new VerifyError('signature_invalid');
  }
  const input =
    scheme.kind === 'pkcs1'
      ? key
      : scheme.kind === 'pss'
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.hashBytes }
        : { key, dsaEncoding: 'ieee-p1363' as const };
  let valid: boolean;
  try {
    // The signing input is ASCII (the format step allowed only base64url characters and the dot).
    valid = await check(scheme.hash, Buffer.from(parts.signingInput, 'latin1'), input, signature);
  } catch (cause) {
    throw new VerifyError('signature_invalid', { cause });
  }
  if (!valid) throw new VerifyError('signature_invalid');
}
