/**
 * The CLI's exit codes: one per kind of outcome, so scripts and CI can tell them apart (documented in the README
 * and by `authstack --help`).
 */
import { CommanderError } from 'commander';
import { NetworkError } from './network-errors.ts';
import { ApiError } from './sdk.ts';

export const EXIT = {
  /** Done. */
  ok: 0,
  /** The server answered with an error (its problem `code` and `detail` are printed), or a scenario failed. */
  refused: 1,
  /** The command line is wrong: unknown command or option, missing argument, no password given, bad file. */
  usage: 2,
  /** No answer: connection refused, name not resolved, connection reset, timeout. */
  unreachable: 3,
  /** The server's TLS certificate is not trusted (pass its CA with --ca). */
  untrustedCertificate: 4,
} as const;

export const EXIT_HELP = `Exit codes:
  0  done
  1  the server refused the request (its problem code and detail are printed) or a scenario failed
  2  usage error (unknown command or option, missing argument or password, unreadable file)
  3  service unreachable (connection refused, name not resolved, timeout)
  4  the server's certificate is not trusted (pass its CA with --ca)`;

/** A mistake on the command line or in local input: exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Failure {
  exitCode: number;
  /** What went wrong, naming the cause. */
  message: string;
  /** For --json: the same as data. */
  json: Record<string, unknown>;
}

export function describeFailure(error: unknown): Failure {
  if (error instanceof ApiError) {
    const { problem } = error;
    const detail = problem.detail ?? problem.title ?? 'request failed';
    const reasons = Array.isArray(problem.reasons)
      ? ` (${(problem.reasons as { message?: string }[]).map((r) => r.message).join(' ')})`
      : '';
    return {
      exitCode: EXIT.refused,
      message: `${error.status} ${error.code}: ${detail}${reasons === ` (${detail})` ? '' : reasons}${
        error.retryAfter !== undefined ? ` (retry after ${error.retryAfter} s)` : ''
      }`,
      json: {
        kind: 'refused',
        status: error.status,
        code: error.code,
        detail,
        request_id: problem.request_id,
      },
    };
  }
  if (error instanceof NetworkError) {
    return {
      exitCode: error.kind === 'untrusted_certificate' ? EXIT.untrustedCertificate : EXIT.unreachable,
      message: error.message,
      json: { kind: error.kind, reason: error.reason, detail: error.message },
    };
  }
  if (error instanceof UsageError || error instanceof CommanderError) {
    return { exitCode: EXIT.usage, message: error.message, json: { kind: 'usage', detail: error.message } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT.refused, message, json: { kind: 'failed', detail: message } };
}
