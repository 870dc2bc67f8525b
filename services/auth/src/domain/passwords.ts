/**
 * Password policy (NIST SP 800-63B section 3.1.1.2) and hashing.
 *
 * - at least 8 characters (Unicode code points), no composition rules;
 * - at most 72 UTF-8 bytes, because bcrypt ignores everything after byte 72: longer passwords are
 *   refused with a clear reason, never silently truncated;
 * - refused when found in a common-password dictionary (zxcvbn-ts's list of ~49,000 leaked passwords),
 *   or when it contains the username.
 *
 * Hashing is native bcrypt, asynchronous (it runs on libuv's thread pool, not the event loop).
 */
import zxcvbnCommon from '@zxcvbn-ts/language-common';
import bcrypt from 'bcrypt';

export const MIN_PASSWORD_CHARS = 8;
export const MAX_PASSWORD_BYTES = 72;

export type PasswordReason =
  | 'password_too_short'
  | 'password_too_long'
  | 'password_common'
  | 'password_contains_username';

export interface PolicyViolation {
  code: PasswordReason;
  message: string;
}

const commonPasswords: ReadonlySet<string> = new Set(
  (zxcvbnCommon.dictionary.passwords as string[]).map((word) => word.toLowerCase()),
);

export function checkPasswordPolicy(password: string, normalizedUsername: string): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const chars = [...password].length;
  const bytes = Buffer.byteLength(password, 'utf8');
  if (chars < MIN_PASSWORD_CHARS) {
    violations.push({
      code: 'password_too_short',
      message: `Use at least ${MIN_PASSWORD_CHARS} characters.`,
    });
  }
  if (bytes > MAX_PASSWORD_BYTES) {
    violations.push({
      code: 'password_too_long',
      message: `Use at most ${MAX_PASSWORD_BYTES} bytes in UTF-8 (this one has ${bytes}); longer passwords would be truncated by bcrypt.`,
    });
  }
  if (commonPasswords.has(password.toLowerCase())) {
    violations.push({
      code: 'password_common',
      message: 'This password appears in lists of common passwords.',
    });
  }
  if (
    normalizedUsername.length > 0 &&
    password.normalize('NFKC').toLowerCase().includes(normalizedUsername)
  ) {
    violations.push({
      code: 'password_contains_username',
      message: 'The password must not contain the username.',
    });
  }
  return violations;
}

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

export function hashCost(hash: string): number {
  return bcrypt.getRounds(hash);
}

/** Within the 72-byte bcrypt limit? Longer login attempts are answered as wrong, never truncated. */
export function fitsBcrypt(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') <= MAX_PASSWORD_BYTES;
}
