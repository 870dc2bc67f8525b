/**
 * What the use cases may touch. Each use case takes only the part it names (`Pick<UseCaseDeps, ...>`), so its
 * signature tells a reader which stores, limits and settings it uses; the service builds one object that has them all.
 */
import type { Keyring } from '../keys/keyring.ts';
import type { EventStore } from '../store/events.ts';
import type { Limits } from '../store/limits.ts';
import type { RevocationStore } from '../store/revocations.ts';
import type { SessionStore } from '../store/sessions.ts';
import type { UserStore } from '../store/users.ts';
import type { Admission } from './admission.ts';
import type { PasswordHasher } from './passwords.ts';
import type { TokenSettings } from './tokens.ts';

export interface UseCaseDeps {
  users: UserStore;
  events: EventStore;
  sessions: SessionStore;
  /** Session revocations queued by account changes, carried out after their commit (see `settleRevocations`). */
  revocations: RevocationStore;
  keyring: Keyring;
  limits: Limits;
  /** Admission control in front of bcrypt: 503 `overloaded` before any work when the queue is full. */
  admission: Admission;
  /** Peppered bcrypt at the configured cost, equal work on every refused login (see `passwords.ts`). */
  passwords: PasswordHasher;
  tokens: TokenSettings;
  refreshIdleTtl: number;
  /** Seconds a cookie session's minted access token is served again (0: every exchange signs). */
  cookieTokenCache: number;
  now: () => number;
  /** Observes bcrypt time, login outcomes, refresh reuse and cookie exchanges (metrics). */
  observe?: Observe;
}

export interface Observe {
  bcrypt?: (op: 'hash' | 'compare', seconds: number) => void;
  login?: (outcome: 'success' | 'invalid_credentials' | 'rate_limited' | 'overloaded') => void;
  refreshReuse?: () => void;
  /** The gateway's cookie exchange: a cached token served, a token minted, or the cookie refused. */
  cookieExchange?: (outcome: 'cached' | 'minted' | 'invalid_session') => void;
}
