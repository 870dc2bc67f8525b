/**
 * Signing-key material: generation, RFC 7638 thumbprint `kid`s, AES-256-GCM encryption of the private key
 * under the key-encryption key (KEK), and the check a stored key must pass before it is used or published.
 *
 * Formats of the sealed private key (`signing_keys.key_format`):
 * - 1 (rows of the first release): the `kid` alone is the additional authenticated data (AAD).
 * - 2 (every key written now): the AAD binds the `kid`, the algorithm and the public key, so a ciphertext
 *   cannot be moved to another row, nor paired with another algorithm or public key.
 * Format 1 rows keep working: they are opened with their old AAD and must pass every other check of
 * `openSigningKey` (thumbprint, algorithm, public key derived from the private one), which together bind
 * the same three things; they leave the table as rotation retires them.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type JsonWebKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export type SigningAlgorithm = 'RS256' | 'ES256';
export type KeyFormat = 1 | 2;
export const CURRENT_KEY_FORMAT: KeyFormat = 2;

export interface GeneratedKey {
  kid: string;
  alg: SigningAlgorithm;
  publicJwk: JsonWebKey;
  privateKey: KeyObject;
}

/** The RFC 7638 required members of a public JWK, in lexicographic order. */
function requiredMembers(jwk: JsonWebKey): Record<string, unknown> {
  return jwk.kty === 'RSA'
    ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
    : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) over the required members in lexicographic order. */
export function thumbprint(jwk: JsonWebKey): string {
  return createHash('sha256')
    .update(JSON.stringify(requiredMembers(jwk)))
    .digest('base64url');
}

/** The public JWK as the JWKS publishes it: the required members and `kid`, `alg`, `use`; nothing else. */
function publishedJwk(jwk: JsonWebKey, kid: string, alg: SigningAlgorithm): JsonWebKey {
  return { ...requiredMembers(jwk), kid, alg, use: 'sig' } as JsonWebKey;
}

export async function generateSigningKey(alg: SigningAlgorithm): Promise<GeneratedKey> {
  const { publicKey, privateKey } =
    alg === 'RS256'
      ? await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
      : await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  const exported = publicKey.export({ format: 'jwk' });
  const kid = thumbprint(exported);
  return { kid, alg, privateKey, publicJwk: publishedJwk(exported, kid, alg) };
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What the sealed private key is bound to. */
export interface KeyBinding {
  kid: string;
  alg: SigningAlgorithm;
  publicJwk: JsonWebKey;
}

function additionalData(format: KeyFormat, key: KeyBinding): Buffer {
  if (format === 1) return Buffer.from(key.kid, 'utf8');
  return Buffer.from(
    JSON.stringify(['authstack-signing-key/2', key.kid, key.alg, requiredMembers(key.publicJwk)]),
    'utf8',
  );
}

/** Seal a private key in the current format (2). */
export function encryptPrivateKey(privateKey: KeyObject, kek: Buffer, key: KeyBinding): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(additionalData(CURRENT_KEY_FORMAT, key));
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const ciphertext = Buffer.concat([cipher.update(der), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

export class KeyDecryptionError extends Error {
  constructor(kid: string) {
    super(
      `KEY_ENCRYPTION_KEY cannot decrypt signing key ${kid}: the key-encryption key differs from the one the key was stored with, or the row was altered`,
    );
    this.name = 'KeyDecryptionError';
  }
}

/** A stored key that fails a check: it is neither used nor published. */
export class KeyIntegrityError extends Error {
  readonly kid: string;

  constructor(kid: string, reason: string) {
    super(`signing key ${kid} refused: ${reason}`);
    this.name = 'KeyIntegrityError';
    this.kid = kid;
  }
}

export function decryptPrivateKey(
  sealed: Buffer,
  kek: Buffer,
  key: KeyBinding,
  format: KeyFormat = CURRENT_KEY_FORMAT,
): KeyObject {
  try {
    const iv = sealed.subarray(0, IV_BYTES);
    const tag = sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', kek, iv);
    decipher.setAAD(additionalData(format, key));
    decipher.setAuthTag(tag);
    const der = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    throw new KeyDecryptionError(key.kid);
  }
}

export interface StoredKey extends KeyBinding {
  privateKeyEnc: Buffer;
  keyFormat: KeyFormat;
}

export interface OpenedKey {
  kid: string;
  alg: SigningAlgorithm;
  /** Rebuilt from the checked public key: only the members a JWKS may carry. */
  publicJwk: JsonWebKey;
  publicKey: KeyObject;
  privateKey: KeyObject;
}

const sameMembers = (a: JsonWebKey, b: JsonWebKey) =>
  JSON.stringify(requiredMembers(a)) === JSON.stringify(requiredMembers(b));

/**
 * Check a stored key before it is used or published: the algorithm fits the key type, the `kid` is the
 * public key's thumbprint, the private part decrypts under the KEK with its binding as AAD, and the
 * public key is the one the private key derives. Throws `KeyDecryptionError` or `KeyIntegrityError`.
 */
export function openSigningKey(row: StoredKey, kek: Buffer): OpenedKey {
  const { kid, alg, publicJwk } = row;
  const expected =
    alg === 'RS256' ? { kty: 'RSA' } : alg === 'ES256' ? { kty: 'EC', crv: 'P-256' } : undefined;
  if (!expected) throw new KeyIntegrityError(kid, `unsupported algorithm ${String(alg)}`);
  if (publicJwk === null || typeof publicJwk !== 'object' || publicJwk.kty !== expected.kty) {
    throw new KeyIntegrityError(kid, `the public key is not a ${expected.kty} key, as ${alg} needs`);
  }
  if ('crv' in expected && publicJwk.crv !== expected.crv) {
    throw new KeyIntegrityError(kid, `the public key is not on ${expected.crv}, as ${alg} needs`);
  }
  if (row.keyFormat !== 1 && row.keyFormat !== 2) {
    throw new KeyIntegrityError(kid, `unknown key format ${String(row.keyFormat)}`);
  }
  if (thumbprint(publicJwk) !== kid) {
    throw new KeyIntegrityError(kid, 'the kid is not the thumbprint of the public key');
  }
  const privateKey = decryptPrivateKey(row.privateKeyEnc, kek, row, row.keyFormat);
  const derived = createPublicKey(privateKey);
  const derivedJwk = derived.export({ format: 'jwk' });
  if (!sameMembers(derivedJwk, publicJwk)) {
    throw new KeyIntegrityError(kid, 'the public key does not belong to the private key');
  }
  return { kid, alg, publicJwk: publishedJwk(derivedJwk, kid, alg), publicKey: derived, privateKey };
}
