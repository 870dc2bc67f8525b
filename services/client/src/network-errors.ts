/**
 * Why a request got no HTTP answer, named for a human: the connection was refused, the server's certificate is not
 * trusted (with the `--ca` hint), the request timed out, the name did not resolve, ... `fetch` itself only says
 * "fetch failed"; the cause (undici's or Node's error code) says which.
 */
export type NetworkFailure = 'refused' | 'untrusted_certificate' | 'timeout' | 'unreachable';

export class NetworkError extends Error {
  readonly kind: NetworkFailure;
  /** The low-level code (ECONNREFUSED, SELF_SIGNED_CERT_IN_CHAIN, UND_ERR_CONNECT_TIMEOUT, ...). */
  readonly reason: string;

  constructor(kind: NetworkFailure, reason: string, message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'NetworkError';
    this.kind = kind;
    this.reason = reason;
  }
}

/** TLS verification failures (OpenSSL's names as Node reports them). */
const CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);
const TIMEOUT = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

function codeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const { code, name } = current as { code?: unknown; name?: unknown };
    if (typeof code === 'string') return code;
    if (name === 'TimeoutError') return 'TimeoutError';
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A `NetworkError` for a failed fetch to `url`; anything else is returned as it is. */
export function classifyNetworkError(error: unknown, url: string, timeoutMs: number): unknown {
  const code = codeOf(error);
  if (code === undefined) return error;
  const { host, protocol } = new URL(url);
  if (code === 'ECONNREFUSED') {
    return new NetworkError(
      'refused',
      code,
      `connection refused by ${host}: nothing listens there (is the stack up? check --base-url)`,
      error,
    );
  }
  if (CERTIFICATE.has(code)) {
    return new NetworkError(
      'untrusted_certificate',
      code,
      `the certificate of ${host} is not trusted (${code}): pass the CA that signed it with --ca <file> (certs/ca.crt for this stack)`,
      error,
    );
  }
  if (code === 'TimeoutError' || TIMEOUT.has(code)) {
    return new NetworkError(
      'timeout',
      code,
      `no answer from ${host} within ${Math.round(timeoutMs / 1000)} s (--timeout)`,
      error,
    );
  }
  if (
    [
      'ENOTFOUND',
      'EAI_AGAIN',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'ECONNRESET',
      'EPIPE',
      'UND_ERR_SOCKET',
    ].includes(code)
  ) {
    const what =
      code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'the name does not resolve' : 'the connection failed';
    return new NetworkError(
      'unreachable',
      code,
      `${protocol}//${host} is unreachable: ${what} (${code})`,
      error,
    );
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return new NetworkError('unreachable', code, `TLS with ${host} failed (${code})`, error);
  }
  return error;
}
