/**
 * The CLI's admin commands (`users`, `events`, `keys`, `accounts`), on the SDK's `AdminApi`. They act with the
 * access token of the token file (after `login` with `--token-file`), or, with `--as-admin`, log in first as
 * ADMIN_USERNAME with ADMIN_PASSWORD or ADMIN_PASSWORD_FILE (the client container has both) and log out at the end.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AdminApi } from './admin.ts';
import { UsageError } from './exit-codes.ts';
import { type Output, table } from './output.ts';
import type { AuthClient } from './sdk.ts';

export interface AdminContext {
  /** The client to act with: the token file's session, or a fresh admin login with --as-admin. */
  client(): Promise<AuthClient>;
  output(): Output;
}

const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive whole number`);
  return n;
};

const USER_COLUMNS = ['username', 'roles', 'disabled', 'created_at', 'last_login_at', 'id'];

export function adminCommands(program: Command, ctx: AdminContext): void {
  const admin = async () => new AdminApi(await ctx.client());
  const out = () => ctx.output();
  const updated = (user: { username: string; roles: string[]; disabled: boolean }) =>
    `${user.username}: roles ${user.roles.join(',')}${user.disabled ? ', disabled' : ''}`;

  const users = program.command('users').description('admin: accounts, their roles, state and sessions');

  users
    .command('list')
    .description('list accounts by name, a page at a time (or --all)')
    .option('--limit <n>', 'accounts per page (1-100)', positive('--limit'), 20)
    .option('--cursor <cursor>', 'the next_cursor of the previous page')
    .option('--all', 'every account, following the pages')
    .action(async (opts: { limit: number; cursor?: string; all?: boolean }) => {
      const api = await admin();
      if (opts.all) {
        const all = [];
        for await (const user of api.allUsers(100)) all.push(user);
        out().emit({ users: all, next_cursor: null }, (v) => table(v.users, USER_COLUMNS));
      } else {
        const page = await api.listUsers({
          limit: opts.limit,
          ...(opts.cursor ? { cursor: opts.cursor } : {}),
        });
        out().emit(
          page,
          (v) => `${table(v.users, USER_COLUMNS)}${v.next_cursor ? `\nnext: --cursor ${v.next_cursor}` : ''}`,
        );
      }
    });

  users
    .command('find <username>')
    .description('show one account (the name is normalised as at login); exit 1 when there is none')
    .action(async (username: string) => {
      out().emit(await (await admin()).requireUser(username));
    });

  users
    .command('grant <username> <role>')
    .description('give an account a role (user or admin); audited as role_change')
    .action(async (username: string, role: string) => {
      out().emit(await (await admin()).grantRole(username, role as 'admin'), updated);
    });

  users
    .command('remove-role <username> <role>')
    .description('take a role from an account; ends its sessions; audited as role_change')
    .action(async (username: string, role: string) => {
      out().emit(await (await admin()).removeRole(username, role as 'admin'), updated);
    });

  users
    .command('disable <username>')
    .description('disable an account: its sessions end and it cannot log in; audited as user_disabled')
    .action(async (username: string) => {
      out().emit(await (await admin()).setDisabled(username, true), updated);
    });

  users
    .command('enable <username>')
    .description('enable a disabled account; audited as user_enabled')
    .action(async (username: string) => {
      out().emit(await (await admin()).setDisabled(username, false), updated);
    });

  users
    .command('sessions <username>')
    .description("list an account's live sessions")
    .action(async (username: string) => {
      out().emit(await (await admin()).userSessions(username), (v) =>
        table(v.sessions, ['id', 'created_at', 'last_used_at', 'ip', 'user_agent']),
      );
    });

  users
    .command('end-sessions <username>')
    .description("end an account's sessions (all, or one with --session-id); audited as sessions_revoked")
    // Not --session: that is the global option choosing bearer or cookie sessions.
    .option('--session-id <id>', 'end only this session')
    .action(async (username: string, opts: { sessionId?: string }) => {
      const revoked = await (await admin()).endSessions(username, opts.sessionId);
      out().emit({ username, revoked }, (v) => `${v.revoked} session(s) of ${v.username} ended`);
    });

  program
    .command('events')
    .description('admin: the audit trail, newest first')
    .option('--type <type>', 'only events of this type (e.g. login_failure, role_change, sessions_revoked)')
    .option('--user <username>', "only this account's events")
    .option('--limit <n>', 'at most this many events', positive('--limit'), 20)
    .action(async (opts: { type?: string; user?: string; limit: number }) => {
      const api = await admin();
      const userId = opts.user ? (await api.requireUser(opts.user)).id : undefined;
      const events = [];
      const filter = {
        limit: Math.min(opts.limit, 100),
        ...(opts.type ? { type: opts.type as 'login_failure' } : {}),
        ...(userId ? { user_id: userId } : {}),
      };
      for await (const event of api.allEvents(filter, opts.limit)) events.push(event);
      out().emit({ events }, (v) =>
        table(
          v.events.map((e) => ({ ...e, details: JSON.stringify(e.details) })),
          ['id', 'occurred_at', 'type', 'username', 'ip', 'details'],
        ),
      );
    });

  program
    .command('keys')
    .description('admin: signing keys')
    .command('rotate')
    .description('stage a new signing key: published at once, signing after the JWKS cache age; audited')
    .action(async () => {
      out().emit(
        await (await admin()).rotateKey(),
        (k) => `staged ${k.kid} (${k.alg}), signing from ${k.activates_at}`,
      );
    });

  const accounts = program
    .command('accounts')
    .description('admin: move accounts in and out as JSON lines with their bcrypt hashes');

  accounts
    .command('export')
    .description(
      'every account as JSON lines {username, password_hash, roles, disabled, created_at}; audited. Peppered hashes ($hmac-sha256$...) verify only where PASSWORD_PEPPER is the same',
    )
    .option('--output <file>', 'write to this file (created with mode 0600) instead of standard output')
    .action(async (opts: { output?: string }) => {
      const lines = await (await admin()).exportAccounts();
      const count = lines.split('\n').filter((line) => line !== '').length;
      if (opts.output) {
        writeFileSync(opts.output, lines, { mode: 0o600, flag: 'wx' });
        out().emit(
          { exported: count, file: opts.output },
          (v) => `${v.exported} account(s) written to ${v.file}`,
        );
      } else {
        process.stdout.write(lines);
      }
    });

  accounts
    .command('import <file>')
    .description(
      'create the accounts of a JSON lines file ("-" for standard input); malformed lines and hashes, bad names or roles and names already taken are refused and listed (exit 1 if any); audited',
    )
    .action(async (file: string) => {
      let text: string;
      try {
        text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
      } catch (error) {
        throw new UsageError(
          `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
      }
      const report = await (await admin()).importAccounts(text);
      out().emit(report, (r) =>
        [
          `${r.imported} account(s) imported, ${r.refused.length} refused`,
          ...r.refused.map((x) => `  line ${x.line}: ${x.username || '(unreadable)'}: ${x.reason}`),
        ].join('\n'),
      );
      if (report.refused.length > 0) process.exitCode = 1;
    });
}
