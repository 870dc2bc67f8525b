/**
 * The HTTP contract of auth and resource as zod schemas: the services validate requests with them, the OpenAPI
 * documents (`./openapi.ts`) are generated from them, and the client SDK takes its types from them (`import type`,
 * so nothing of this package runs in the client). One source, so the three cannot drift apart.
 */
import { CLAIM_FAILURES, STEPS } from '@authstack/verifier/codes';
import { z } from 'zod';

export const ROLES = ['user', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Every audit event type the auth service writes. */
export const EVENT_TYPES = [
  'register',
  'login_success',
  'login_failure',
  'refresh_reuse',
  'logout',
  'logout_all',
  'password_change',
  'password_change_failure',
  'role_change',
  'user_disabled',
  'user_enabled',
  'key_rotation',
  'admin_bootstrap',
  'sessions_revoked',
  'accounts_exported',
  'accounts_imported',
] as const;
export type AuthEventType = (typeof EVENT_TYPES)[number];

const noNul = (value: string) => !value.includes('\u0000');
const secret = z.string().min(1).max(1024).refine(noNul, 'must not contain NUL');
const usernameInput = z.string().min(1).max(256).refine(noNul, 'must not contain NUL');
const timestamp = z.string().meta({ format: 'date-time' });

// --- requests -------------------------------------------------------------------------------------------------

export const Credentials = z
  .object({ username: usernameInput, password: secret })
  .meta({ id: 'Credentials', description: 'A username (normalised: NFKC, lower case) and a password.' });
export const RefreshRequest = z
  .object({ refresh_token: z.string().min(1).max(512) })
  .meta({ id: 'RefreshRequest' });
export const PasswordChangeRequest = z
  .object({ current_password: secret, new_password: secret })
  .meta({ id: 'PasswordChangeRequest' });
export const SESSION_MODES = ['bearer', 'cookie'] as const;
export const LoginQuery = z.object({
  session: z.enum(SESSION_MODES).optional().meta({
    description:
      '`cookie` also opens a cookie session (`Set-Cookie: __Host-session`); `bearer` (the default) does not. The JSON answer is the same.',
  }),
});
export const SessionIdParam = z.object({ id: z.uuid() });
export const UserIdParam = z.object({ id: z.uuid() });
export const UserSessionParams = z.object({ id: z.uuid(), sid: z.uuid() });

const page = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional()
    .meta({ description: 'The `next_cursor` of the previous page of the same list.' }),
};
export const UsersQuery = z.object({
  ...page,
  username: usernameInput
    .optional()
    .meta({ description: 'Find one account by name (normalised as at login); at most one result.' }),
});
export const EventsQuery = z.object({
  ...page,
  type: z.enum(EVENT_TYPES).optional(),
  user_id: z.uuid().optional(),
});
export const UserPatch = z
  .object({ roles: z.array(z.enum(ROLES)).max(ROLES.length).optional(), disabled: z.boolean().optional() })
  .strict()
  .refine((body) => body.roles !== undefined || body.disabled !== undefined, 'send "roles" and/or "disabled"')
  .meta({ id: 'UserPatch' });

/** One account as exported (one JSON line each) and as imported. */
export const ExportedAccount = z
  .object({
    username: z.string(),
    password_hash: z.string().meta({
      description:
        'bcrypt, peppered (`$hmac-sha256$2b$...`: usable only by a stack with the same PASSWORD_PEPPER) or plain (`$2b$...`: upgraded at the next login).',
    }),
    roles: z.array(z.enum(ROLES)),
    disabled: z.boolean(),
    created_at: timestamp,
  })
  .meta({ id: 'ExportedAccount' });

export const ImportAccount = z
  .object({
    username: z.string().max(256),
    password_hash: z.string().max(256),
    roles: z.array(z.string().max(32)).max(8).optional(),
    disabled: z.boolean().optional(),
    created_at: z.iso.datetime({ offset: true }).optional(),
  })
  .meta({ id: 'ImportAccount', description: 'Checked one by one: a bad account is refused and reported.' });
export const ImportRequest = z
  .object({ accounts: z.array(ImportAccount).min(1).max(100) })
  .meta({ id: 'ImportRequest' });

// --- responses ------------------------------------------------------------------------------------------------

const success = z.literal('success');

export const User = z
  .object({ id: z.uuid(), username: z.string(), roles: z.array(z.enum(ROLES)) })
  .meta({ id: 'User' });
export const RegisterResponse = z
  .object({ status: success, message: z.string(), user: User })
  .meta({ id: 'RegisterResponse' });
export const TokenResponse = z
  .object({
    status: success,
    message: z.string(),
    token: z.string().meta({ description: 'The access token again (the original tutorial reads `token`).' }),
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    refresh_token: z.string(),
    refresh_expires_in: z.number().int(),
    user: User,
  })
  .meta({ id: 'TokenResponse' });
export const CookieLoginResponse = z.object({ status: success, message: z.string(), user: User }).meta({
  id: 'CookieLoginResponse',
  description:
    'A login with `?session=cookie` (and the `/login` alias): the account only. The session is in the HttpOnly cookie; no token is in the body for a script in the page to take.',
});
export const Done = z.object({ status: success, message: z.string() }).meta({ id: 'Done' });
export const Revoked = z
  .object({ status: success, message: z.string(), revoked: z.number().int().min(0) })
  .meta({ id: 'Revoked' });
export const Me = z
  .object({
    id: z.uuid(),
    username: z.string(),
    roles: z.array(z.enum(ROLES)),
    created_at: timestamp,
    last_login_at: timestamp.nullable(),
    session_id: z.string(),
  })
  .meta({ id: 'Me' });
export const Session = z
  .object({
    id: z.string(),
    created_at: timestamp,
    last_used_at: timestamp,
    ip: z.string(),
    user_agent: z.string(),
    current: z.boolean(),
    cookie: z.boolean().meta({ description: 'Opened with a session cookie (it has a refresh token too).' }),
  })
  .meta({ id: 'Session' });
export const SessionList = z.object({ sessions: z.array(Session) }).meta({ id: 'SessionList' });
export const UserSession = Session.omit({ current: true }).meta({ id: 'UserSession' });
export const UserSessionList = z
  .object({ user: User, sessions: z.array(UserSession) })
  .meta({ id: 'UserSessionList' });

export const AdminUser = z
  .object({
    id: z.uuid(),
    username: z.string(),
    roles: z.array(z.enum(ROLES)),
    disabled: z.boolean(),
    created_at: timestamp,
    last_login_at: timestamp.nullable(),
  })
  .meta({ id: 'AdminUser' });
export const UserPage = z
  .object({ users: z.array(AdminUser), next_cursor: z.string().nullable() })
  .meta({ id: 'UserPage' });
export const UserUpdated = z
  .object({
    status: success,
    user: z.object({
      id: z.uuid(),
      username: z.string(),
      roles: z.array(z.enum(ROLES)),
      disabled: z.boolean(),
    }),
  })
  .meta({ id: 'UserUpdated' });
export const KeyStaged = z
  .object({
    status: z.literal('accepted'),
    key: z.object({ kid: z.string(), alg: z.enum(['RS256', 'ES256']), activates_at: timestamp }),
  })
  .meta({ id: 'KeyStaged' });
export const AuditEvent = z
  .object({
    id: z.string(),
    occurred_at: timestamp,
    type: z.enum(EVENT_TYPES),
    user_id: z.uuid().nullable(),
    username: z.string().nullable(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    request_id: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEvent' });
export const EventPage = z
  .object({ events: z.array(AuditEvent), next_cursor: z.string().nullable() })
  .meta({ id: 'EventPage' });

export const IMPORT_REFUSALS = [
  'invalid_username',
  'malformed_hash',
  'cost_too_high',
  'invalid_roles',
  'duplicate',
] as const;
export const ImportResult = z
  .object({
    status: success,
    imported: z.number().int().min(0),
    refused: z.array(
      z.object({
        index: z.number().int().min(0).meta({ description: 'Position in `accounts`.' }),
        username: z.string(),
        reason: z.enum(IMPORT_REFUSALS),
      }),
    ),
  })
  .meta({ id: 'ImportResult' });

export const Jwks = z
  .object({
    keys: z.array(
      z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.literal('sig') }),
    ),
  })
  .meta({ id: 'Jwks' });
export const OpenIdConfiguration = z
  .object({
    issuer: z.string(),
    jwks_uri: z.string(),
    access_token_signing_alg_values_supported: z.array(z.string()),
    token_endpoint_auth_methods_supported: z.array(z.string()),
    response_types_supported: z.array(z.string()),
  })
  .meta({ id: 'OpenIdConfiguration' });

export const Health = z
  .object({
    status: z.literal('ok'),
    service: z.string(),
    version: z.string(),
    commit: z.string().meta({ description: 'The commit it was built from, or `unknown`.' }),
  })
  .meta({ id: 'Health' });
export const Readiness = z.object({ status: z.enum(['ready', 'not_ready']) }).meta({ id: 'Readiness' });

export const ProtectedContent = z
  .object({ status: success, message: z.string(), username: z.string(), roles: z.array(z.string()) })
  .meta({ id: 'ProtectedContent' });
export const AdminContent = z.object({ status: success, message: z.string() }).meta({ id: 'AdminContent' });
export const PublicContent = z.object({ status: success, message: z.string() }).meta({ id: 'PublicContent' });
export const WhoAmI = z
  .object({
    status: success,
    claims: z.looseObject({
      iss: z.string(),
      aud: z.union([z.string(), z.array(z.string())]),
      sub: z.string(),
      username: z.string(),
      roles: z.array(z.string()),
      sid: z.string(),
      jti: z.string(),
      iat: z.number(),
      exp: z.number(),
    }),
  })
  .meta({ id: 'WhoAmI' });

// --- the study console's endpoints (resource) -------------------------------------------------------------------

export const ExplainRequest = z
  .strictObject({
    token: z.string().min(1).max(8192).meta({ description: 'Any token: it is explained, never accepted.' }),
    at: z
      .number()
      .int()
      .min(0)
      .max(32503680000)
      .optional()
      .meta({ description: 'Judge the token at this instant (seconds since the epoch) instead of now.' }),
    audience: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .meta({ description: 'Judge it as a service with this audience would.' }),
  })
  .meta({ id: 'ExplainRequest' });

const claimFailure = z.enum(CLAIM_FAILURES);
export const Explanation = z
  .object({
    valid: z.boolean().meta({ description: 'Would `verify()` accept the token under this policy at `at`?' }),
    code: z.string().optional().meta({ description: 'The refusal code, as `verify()` would answer it.' }),
    claim: z.string().optional(),
    reason: claimFailure.optional(),
    at: z.number(),
    leewaySec: z.number(),
    issuer: z.string(),
    audience: z.string(),
    algorithms: z.array(z.string()),
    cacheHit: z.boolean().meta({ description: 'Would `verify()` answer from its verified-token cache now?' }),
    steps: z.array(
      z.object({
        step: z.enum(STEPS),
        outcome: z.enum(['passed', 'failed', 'not_reached']),
        detail: z.string(),
        code: z.string().optional(),
        claim: z.string().optional(),
        reason: claimFailure.optional(),
      }),
    ),
  })
  .meta({ id: 'Explanation' });
const verifyMode = z.enum(['stateless', 'session']);
export const ExplainResponse = z
  .object({ status: success, mode: verifyMode, explanation: Explanation })
  .meta({ id: 'ExplainResponse' });
export const Stats = z
  .object({
    status: success,
    mode: verifyMode,
    verifications: z
      .record(z.string(), z.number().int().min(0))
      .meta({ description: '`valid`, or the refusal code, to the count of verifications so far.' }),
    session_checks: z
      .partialRecord(z.enum(['alive', 'revoked']), z.number().int().min(0))
      .optional()
      .meta({ description: 'Session mode only: the Redis session checks after a good verification.' }),
    cache: z.object({
      hits: z.number().int().min(0),
      misses: z.number().int().min(0),
      size: z.number().int().min(0),
      hit_ratio: z.number().min(0).max(1).nullable(),
    }),
  })
  .meta({ id: 'Stats' });

/** RFC 9457 problem details with the stack's `code` and `request_id`. */
export const Problem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    request_id: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    reasons: z.array(z.object({ code: z.string(), message: z.string() })).optional(),
    retry_after: z.number().int().optional(),
  })
  .meta({ id: 'Problem' });

export type Credentials = z.input<typeof Credentials>;
export type User = z.output<typeof User>;
export type RegisterResponse = z.output<typeof RegisterResponse>;
export type TokenResponse = z.output<typeof TokenResponse>;
export type CookieLoginResponse = z.output<typeof CookieLoginResponse>;
export type Done = z.output<typeof Done>;
export type Revoked = z.output<typeof Revoked>;
export type Me = z.output<typeof Me>;
export type Session = z.output<typeof Session>;
export type UserSession = z.output<typeof UserSession>;
export type UserSessionList = z.output<typeof UserSessionList>;
export type AdminUser = z.output<typeof AdminUser>;
export type UserPage = z.output<typeof UserPage>;
export type UserPatch = z.input<typeof UserPatch>;
export type UserUpdated = z.output<typeof UserUpdated>;
export type KeyStaged = z.output<typeof KeyStaged>;
export type AuditEvent = z.output<typeof AuditEvent>;
export type EventPage = z.output<typeof EventPage>;
export type EventsQuery = z.input<typeof EventsQuery>;
export type ExportedAccount = z.output<typeof ExportedAccount>;
export type ImportAccount = z.input<typeof ImportAccount>;
export type ImportResult = z.output<typeof ImportResult>;
export type Health = z.output<typeof Health>;
export type ProtectedContent = z.output<typeof ProtectedContent>;
export type AdminContent = z.output<typeof AdminContent>;
export type WhoAmI = z.output<typeof WhoAmI>;
export type ExplainRequest = z.input<typeof ExplainRequest>;
export type Explanation = z.output<typeof Explanation>;
export type ExplainResponse = z.output<typeof ExplainResponse>;
export type Stats = z.output<typeof Stats>;
export type Problem = z.output<typeof Problem>;
