/**
 * Socket and name-resolution errors (node's `error.code`) that mean a dependency cannot be reached now: PostgreSQL's
 * and Redis's failure rules both start from this one list, and answer such an error with `serviceUnavailable` (503).
 */
export const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Is this an error whose `code` says the connection could not be made or was lost? */
export function hasConnectionErrorCode(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && CONNECTION_ERROR_CODES.has(code);
}
