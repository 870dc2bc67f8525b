/** SQL for signing keys. Private keys arrive here already encrypted. */
import type { JsonWebKey } from 'node:crypto';
import type pg from 'pg';
import type { Db } from './db.ts';
import { transaction, withDb } from './db.ts';

export interface SigningKeyRow {
  kid: string;
  alg: 'RS256' | 'ES256';
  publicJwk: JsonWebKey;
  privateKeyEnc: Buffer;
  /** How `privateKeyEnc` was sealed: 1 (kid as AAD, older rows) or 2 (kid, alg and public key as AAD). */
  keyFormat: 1 | 2;
  createdAt: Date;
  activatesAt: Date;
}

const COLUMNS = `kid, alg, public_jwk AS "publicJwk", private_key_enc AS "privateKeyEnc",
  key_format AS "keyFormat",
  created_at AS "createdAt", activates_at AS "activatesAt"`;

// One number for the advisory lock that serialises key creation across replicas.
const KEY_LOCK = 0x6b657973; // "keys"

export function createSigningKeyStore(db: Db) {
  async function insert(client: pg.PoolClient | Db, row: Omit<SigningKeyRow, 'createdAt'>): Promise<void> {
    await client.query(
      `INSERT INTO signing_keys (kid, alg, public_jwk, private_key_enc, key_format, activates_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [row.kid, row.alg, JSON.stringify(row.publicJwk), row.privateKeyEnc, row.keyFormat, row.activatesAt],
    );
  }

  return {
    /** Every key, oldest activation first. */
    all(): Promise<SigningKeyRow[]> {
      return withDb(async () => {
        const { rows } = await db.query<SigningKeyRow>(
          `SELECT ${COLUMNS} FROM signing_keys ORDER BY activates_at, created_at`,
        );
        return rows;
      });
    },

    insert: (row: Omit<SigningKeyRow, 'createdAt'>) => withDb(() => insert(db, row)),

    /**
     * Under a transaction-scoped advisory lock (so two replicas starting together create one key):
     * when no key is active now, insert the one `make()` builds, active at once.
     */
    ensureActive(make: () => Promise<Omit<SigningKeyRow, 'createdAt'>>): Promise<boolean> {
      return withDb(() =>
        transaction(db, async (client) => {
          await client.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK]);
          const { rows } = await client.query(
            'SELECT 1 FROM signing_keys WHERE activates_at <= now() LIMIT 1',
          );
          if (rows.length > 0) return false;
          await insert(client, await make());
          return true;
        }),
      );
    },
  };
}

export type SigningKeyStore = ReturnType<typeof createSigningKeyStore>;
