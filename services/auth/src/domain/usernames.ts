/**
 * Usernames are compared after NFKC normalisation and lower-casing, so `Alice`, `alice` and
 * `ａｌｉｃｅ` (full-width) are one account. The normalised form must then be 3–32 characters of
 * `a-z 0-9 . _ -` — a small charset keeps look-alike (homoglyph) names out.
 */
export const USERNAME_RULE = '3-32 characters: letters a-z, digits, ".", "_" or "-"';
const PATTERN = /^[a-z0-9._-]{3,32}$/;

export function normalizeUsername(raw: string): string {
  return raw.normalize('NFKC').toLowerCase().trim();
}

export function isValidUsername(normalized: string): boolean {
  return PATTERN.test(normalized);
}
