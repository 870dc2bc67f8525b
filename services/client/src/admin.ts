/**
 * The admin API in the SDK: accounts (list, find, roles, disable/enable), their sessions, the audit trail, key
 * rotation, and moving accounts in and out as JSON lines with their bcrypt hashes. Every call needs an access token
 * of an account that is an admin now (the server reads the role and the disabled flag on every request), and every
 * change is audited on the server with that admin's name.
 */
import type {
  AdminUser,
  AuditEvent,
  AuthEventType,
  EventPage,
  ExportedAccount,
  ImportAccount,
  ImportResult,
  KeyStaged,
  Role,
  UserPage,
  UserPatch,
  UserSessionList,
  UserUpdated,
} from '@authstack/contract';
import { ApiError, type AuthClient } from './sdk.ts';

/** The server takes at most 100 accounts per import request, under its body limit (16 kB by default). */
/** Filters of the audit trail (`GET /auth/admin/events`). */
export interface EventFilter {
  type?: AuthEventType;
  user_id?: string;
  limit?: number;
  cursor?: string;
}

const IMPORT_BATCH = { accounts: 100, bytes: 12_000 };

const query = (params: object) => {
  const entries = Object.entries(params).filter(([, value]) => value !== undefined) as [
    string,
    string | number,
  ][];
  return entries.length === 0
    ? ''
    : `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)] as [string, string]))}`;
};

export interface ImportReport {
  imported: number;
  /** `line` is 1-based, in the input given to `importAccounts`. */
  refused: { line: number; username: string; reason: string }[];
}

export class AdminApi {
  readonly #client: AuthClient;

  constructor(client: AuthClient) {
    this.#client = client;
  }

  listUsers(page: { limit?: number; cursor?: string } = {}): Promise<UserPage> {
    return this.#client.request('GET', `/auth/admin/users${query(page)}`);
  }

  /** Every account, page after page. */
  async *allUsers(limit = 100): AsyncGenerator<AdminUser> {
    let cursor: string | undefined;
    do {
      const page = await this.listUsers({ limit, ...(cursor ? { cursor } : {}) });
      yield* page.users;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  /** The account with this name (normalised as at login), or undefined. */
  async findUser(username: string): Promise<AdminUser | undefined> {
    return (await this.#client.request<UserPage>('GET', `/auth/admin/users${query({ username })}`)).users[0];
  }

  /** Like `findUser`, but a missing account is an `ApiError` 404 `user_not_found`. */
  async requireUser(username: string): Promise<AdminUser> {
    const user = await this.findUser(username);
    if (!user) {
      throw new ApiError(404, { code: 'user_not_found', detail: `No account named ${username}.` }, undefined);
    }
    return user;
  }

  async updateUser(id: string, patch: UserPatch): Promise<UserUpdated['user']> {
    return (await this.#client.request<UserUpdated>('PATCH', `/auth/admin/users/${id}`, patch)).user;
  }

  async grantRole(username: string, role: Role): Promise<UserUpdated['user']> {
    const user = await this.requireUser(username);
    return this.updateUser(user.id, { roles: [...new Set([...user.roles, role])] });
  }

  /** Removing a role ends every session of the account. */
  async removeRole(username: string, role: Role): Promise<UserUpdated['user']> {
    const user = await this.requireUser(username);
    return this.updateUser(user.id, { roles: user.roles.filter((r) => r !== role) });
  }

  /** Disabling ends every session of the account; logins then fail like a wrong password. */
  async setDisabled(username: string, disabled: boolean): Promise<UserUpdated['user']> {
    return this.updateUser((await this.requireUser(username)).id, { disabled });
  }

  async userSessions(username: string): Promise<UserSessionList> {
    const user = await this.requireUser(username);
    return this.#client.request('GET', `/auth/admin/users/${user.id}/sessions`);
  }

  /** End every session of the account, or only `sid`; the number ended. */
  async endSessions(username: string, sid?: string): Promise<number> {
    const user = await this.requireUser(username);
    if (sid) {
      await this.#client.request(
        'DELETE',
        `/auth/admin/users/${user.id}/sessions/${encodeURIComponent(sid)}`,
      );
      return 1;
    }
    return (
      await this.#client.request<{ revoked: number }>('DELETE', `/auth/admin/users/${user.id}/sessions`)
    ).revoked;
  }

  events(filter: EventFilter = {}): Promise<EventPage> {
    return this.#client.request('GET', `/auth/admin/events${query(filter)}`);
  }

  /** Every event matching the filter, newest first, up to `max`. */
  async *allEvents(
    filter: Omit<EventFilter, 'cursor'> = {},
    max = Number.POSITIVE_INFINITY,
  ): AsyncGenerator<AuditEvent> {
    let cursor: string | undefined;
    let count = 0;
    do {
      const page = await this.events({ ...filter, ...(cursor ? { cursor } : {}) });
      for (const event of page.events) {
        if (count++ >= max) return;
        yield event;
      }
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  async rotateKey(): Promise<KeyStaged['key']> {
    return (await this.#client.request<KeyStaged>('POST', '/auth/admin/keys/rotate')).key;
  }

  /** Every account as JSON lines (one `ExportedAccount` per line), with its password hash. */
  exportAccounts(): Promise<string> {
    return this.#client.request<string>('GET', '/auth/admin/users/export', undefined, { text: true });
  }

  /**
   * Import JSON lines of accounts (as `exportAccounts` writes them). Lines that are not a JSON object with a string
   * `username` and `password_hash` are refused here (`malformed_line`); the server refuses malformed hashes, bad
   * names or roles and duplicates. Sent in batches the server accepts; the report numbers lines from 1.
   */
  async importAccounts(jsonLines: string): Promise<ImportReport> {
    const report: ImportReport = { imported: 0, refused: [] };
    const batch: { line: number; account: ImportAccount }[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const result = await this.#client.request<ImportResult>('POST', '/auth/admin/users/import', {
        accounts: batch.map((entry) => entry.account),
      });
      report.imported += result.imported;
      for (const refusal of result.refused) {
        report.refused.push({
          line: batch[refusal.index]!.line,
          username: refusal.username,
          reason: refusal.reason,
        });
      }
      batch.length = 0;
      bytes = 0;
    };
    const lines = jsonLines.split(/\r?\n/);
    for (const [i, text] of lines.entries()) {
      if (text.trim() === '') continue;
      const account = parseLine(text);
      if (!account) {
        report.refused.push({ line: i + 1, username: '', reason: 'malformed_line' });
        continue;
      }
      const size = JSON.stringify(account).length + 1;
      if (batch.length === IMPORT_BATCH.accounts || bytes + size > IMPORT_BATCH.bytes) await flush();
      batch.push({ line: i + 1, account });
      bytes += size;
    }
    await flush();
    report.refused.sort((a, b) => a.line - b.line);
    return report;
  }
}

function parseLine(text: string): ImportAccount | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { username, password_hash, roles, disabled, created_at } = value as Partial<ExportedAccount>;
  if (typeof username !== 'string' || typeof password_hash !== 'string') return undefined;
  return {
    username,
    password_hash,
    ...(Array.isArray(roles) ? { roles: roles.map(String) } : {}),
    ...(typeof disabled === 'boolean' ? { disabled } : {}),
    ...(typeof created_at === 'string' ? { created_at } : {}),
  };
}
