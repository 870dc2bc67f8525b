/**
 * Signing-key material: generation, RFC 7638 thumbprint `kid`s, and AES-256-GCM encryption of the
 * private key under the key-encryption key (KEK). The `kid` is bound as additional authenticated data,
 * so a ciphertext cannot be moved to another key's row.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  generateKeyPair,
  type JsonWebKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export type SigningAlgorithm = 'RS256' | 'ES256';

export interface GeneratedKey {
  kid: string;
  alg: SigningAlgorithm;
  publicJwk: JsonWebKey;
  privateKey: KeyObject;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) over the required members in lexicographic order. */
export function thumbprint(jwk: JsonWebKey): string {
  const members =
    jwk.kty === 'RSA'
      ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

export async function generateSigningKey(alg: SigningAlgorithm): Promise<GeneratedKey> {
  const { publicKey, privateKey } =
    alg === 'RS256'
      ? await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
      : await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  const exported = publicKey.export({ format: 'jwk' });
  const kid = thumbprint(exported);
  return { kid, alg, privateKey, publicJwk: { ...exported, kid, alg, use: 'sig' } };
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function encryptPrivateKey(privateKey: KeyObject, kek: Buffer, kid: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const ciphertext = Buffer.concat([cipher.update(der), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

export class KeyDecryptionError extends Error {
  constructor(kid: string) {
    super(
      `KEY_ENCRYPTION_KEY cannot decrypt signing key ${kid}: the key-encryption key differs from the one the key was stored with`,
    );
    this.name = 'KeyDecryptionError';
  }
}

export function decryptPrivateKey(sealed: Buffer, kek: Buffer, kid: string): KeyObject {
  try {
    const iv = sealed.subarray(0, IV_BYTES);
    const tag = sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', kek, iv);
    decipher.setAAD(Buffer.from(kid, 'utf8'));
    decipher.setAuthTag(tag);
    const der = Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    throw new KeyDecryptionError(kid);
  }
}
