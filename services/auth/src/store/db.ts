/** The PostgreSQL pool, and the one rule for its failures: unreachable means 503, never 401 or 500. */

import { hasConnectionErrorCode, serviceUnavailable } from '@authstack/http-problem';
import pg from 'pg';

export type Db = pg.Pool;

/** The server ends a statement after this long (57014, a bug to fix: 500). */
const STATEMENT_TIMEOUT_MS = 10_000;
/**
 * The client gives up on an answer after this long: a server that vanished without closing the connection (a node
 * lost, packets dropped during a failover) never answers, and the kernel would wait many minutes. Longer than the
 * statement timeout, so the server's own error comes first whenever the server is there.
 */
export const QUERY_TIMEOUT_MS = STATEMENT_TIMEOUT_MS + 2_000;

export function createPool(
  databaseUrl: string,
  max: number,
  onIdleError: (error: Error) => void = () => {},
): Db {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    application_name: 'authstack-auth',
  });
  // An idle client losing its connection (a failover, a restart, pg_terminate_backend) must not crash the process:
  // the pool drops that client and the next query opens a new connection.
  pool.on('error', onIdleError);
  return pool;
}

/** Is this a "cannot talk to PostgreSQL" error, as opposed to a bug or a constraint violation? */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (hasConnectionErrorCode(error)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    // SQLSTATE classes 08 (connection exception), 57P (operator intervention: shutdown), 53 (resources)
    if (/^(08|53)/.test(code) || code.startsWith('57P')) return true;
    // 25006 read_only_sql_transaction: the endpoint led to a standby (a demoted primary, a stale DNS answer during a
    // failover). Not the client's fault and not a bug: retry later. The pool drops that connection (a failed
    // pool.query releases its client with the error), so a later request connects again.
    if (code === '25006') return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout/i.test(
    error.message,
  );
}

/**
 * `work` in a transaction on one pooled client: committed when it returns, rolled back when it throws. A client
 * whose connection failed is not rolled back (that would wait for a dead server again) but discarded, so the pool
 * never hands out a connection that timed out.
 */
export async function transaction<T>(db: Db, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    if (isConnectionError(error)) broken = error as Error;
    else await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Run a data-access call; connection failures become a 503 problem, everything else passes through. */
export async function withDb<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isConnectionError(error)) throw serviceUnavailable('postgres', error);
    throw error;
  }
}
