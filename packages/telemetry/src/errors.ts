/**
 * The `err` serializer of every log line: pino's standard one (type, message and stack with their causes, and the
 * error's own fields), then without the fields that quote what a client or this service sent:
 *
 * - a Redis error's `command.args` (ioredis attaches the refused command: a script's ARGV can hold a minted access
 *   token); the command's name stays. Also inside nested errors: an aborted MULTI's `previousErrors`, a cluster's
 *   `lastNodeError`.
 * - a PostgreSQL error's `detail`, `where` and `internalQuery` ("Failing row contains (...)" quotes a row, password
 *   hash included; "Key (username)=(...)" a value); its `code`, `constraint`, `table` and `column` stay.
 *
 * pg errors never carry the query's parameters; jsonwebtoken's and bcrypt's errors carry neither the token nor the
 * password (their messages are fixed texts), so they pass unchanged.
 */
import { pino } from 'pino';

const REDACTED = '[redacted]';
const PG_VALUE_FIELDS = ['detail', 'where', 'internalQuery'] as const;
const MAX_DEPTH = 6;

type Fields = Record<string, unknown>;

const isErrorLike = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && typeof (value as Fields).message === 'string';

/** pg-protocol's `DatabaseError`: a five-character SQLSTATE and a severity. */
const isPostgresError = (fields: Fields) =>
  fields.type === 'DatabaseError' ||
  (typeof fields.severity === 'string' &&
    typeof fields.code === 'string' &&
    /^[0-9A-Z]{5}$/.test(fields.code));

/** Walked into: arrays, plain objects and errors (serialized ones included); a Date or a Map is logged as it is. */
const isContainer = (value: object) => {
  const proto = Object.getPrototypeOf(value);
  return Array.isArray(value) || proto === Object.prototype || proto === null || isErrorLike(value);
};

function scrub(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (ArrayBuffer.isView(value)) return '[binary]';
  if (!isContainer(value)) return value;
  if (depth > MAX_DEPTH || seen.has(value)) return '[omitted]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => scrub(standard(item), depth + 1, seen));
  const out: Fields = {};
  for (const [key, field] of Object.entries(value)) out[key] = scrub(standard(field), depth + 1, seen);
  const command = out.command;
  if (typeof command === 'object' && command !== null && 'args' in command) {
    out.command = { ...command, args: REDACTED };
  }
  if (isErrorLike(out) && isPostgresError(out)) {
    for (const field of PG_VALUE_FIELDS) if (out[field] !== undefined) out[field] = REDACTED;
  }
  return out;
}

/** An Error through pino's standard serializer; anything else (already serialized, or not an error) as it is. */
const standard = (value: unknown): unknown =>
  value instanceof Error ? pino.stdSerializers.err(value) : value;

/** Serializes an error for a log line, without the fields that quote request data (see above). */
export function serializeError(err: unknown): unknown {
  return scrub(standard(err), 0, new WeakSet());
}
