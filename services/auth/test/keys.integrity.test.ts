/**
 * Signing-key integrity (the kid bound into the key encryption included): a signing-key row is used or
 * published only when its kid is its public key's thumbprint, its private part decrypts under the KEK with
 * the kid, algorithm and public key as additional data, and the public key derives from the private one.
 */
import assert from 'node:assert/strict';
import { createCipheriv, type JsonWebKey, type KeyObject, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { http, useFixture, usePgClient } from '@authstack/testing';
import {
  encryptPrivateKey,
  generateSigningKey,
  KeyDecryptionError,
  KeyIntegrityError,
  thumbprint,
} from '../src/keys/crypto.ts';
import { registerAndLogin, startAuthFixture } from './support.ts';

interface Row {
  kid: string;
  alg: string;
  publicJwk: JsonWebKey;
  sealed: Buffer;
  format: number;
  activatesAt?: Date;
}

describe('signing keys from the database are checked before use', () => {
  const fx = useFixture(async (scope) => {
    const auth = await startAuthFixture(scope, { env: { KEY_RELOAD_INTERVAL: '3600' } });
    return { auth, sql: await usePgClient(scope, auth.db.url) };
  });

  /** Insert a row as another writer of the table could, reload, and remove it again afterwards. */
  async function withRow(row: Row, check: (reload: Promise<void>) => Promise<void>): Promise<void> {
    await fx.sql.query(
      `INSERT INTO signing_keys (kid, alg, public_jwk, private_key_enc, key_format, activates_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        row.kid,
        row.alg,
        JSON.stringify(row.publicJwk),
        row.sealed,
        row.format,
        row.activatesAt ?? new Date(Date.now() + 3_600_000),
      ],
    );
    try {
      await check(fx.auth.service.keyring.reload());
    } finally {
      await fx.sql.query('DELETE FROM signing_keys WHERE kid = $1', [row.kid]);
      await fx.auth.service.keyring.reload();
    }
  }

  const publishedKids = async () =>
    (await http<{ keys: { kid: string }[] }>(`${fx.auth.url}/.well-known/jwks.json`)).body.keys.map(
      (k) => k.kid,
    );

  async function assertRefused(row: Row, error: new (...args: never[]) => Error, reason?: RegExp) {
    const before = await publishedKids();
    await withRow(row, async (reload) => {
      await assert.rejects(reload, (thrown: Error) => {
        assert.ok(thrown instanceof error, String(thrown));
        assert.match(thrown.message, new RegExp(row.kid.replace(/[-_]/g, '.')));
        if (reason) assert.match(thrown.message, reason);
        return true;
      });
      assert.deepEqual(await publishedKids(), before, 'the key set must not change');
      assert.ok(
        !fx.auth.service.keyring.verificationKeys().some((key) => key.kid === row.kid),
        'the refused key must not be trusted',
      );
    });
  }

  it('when a staged row has its own public key and an undecryptable private part, then it is neither published nor trusted', async () => {
    const key = await generateSigningKey('RS256');
    await assertRefused(
      { kid: key.kid, alg: 'RS256', publicJwk: key.publicJwk, sealed: randomBytes(1_300), format: 2 },
      KeyDecryptionError,
    );
  });

  it("when a row's kid is not the thumbprint of its public key, then it is refused", async () => {
    const key = await generateSigningKey('RS256');
    const kid = `not-${key.kid}`.slice(0, 43);
    const binding = { kid, alg: 'RS256' as const, publicJwk: key.publicJwk };
    await assertRefused(
      {
        ...binding,
        sealed: encryptPrivateKey(key.privateKey, fx.auth.config.keyEncryptionKey, binding),
        format: 2,
      },
      KeyIntegrityError,
      /thumbprint/,
    );
  });

  it("when a row's public key does not belong to its private key, then it is refused", async () => {
    const published = await generateSigningKey('RS256');
    const other = await generateSigningKey('RS256');
    const binding = { kid: published.kid, alg: 'RS256' as const, publicJwk: published.publicJwk };
    // sealed with the right KEK and binding, but the private key is another one
    await assertRefused(
      {
        ...binding,
        sealed: encryptPrivateKey(other.privateKey, fx.auth.config.keyEncryptionKey, binding),
        format: 2,
      },
      KeyIntegrityError,
      /does not belong/,
    );
  });

  it('when a sealed private key is moved to the row of another kid, then it does not decrypt (the kid is bound)', async () => {
    const source = await generateSigningKey('RS256');
    const target = await generateSigningKey('RS256');
    const sealed = encryptPrivateKey(source.privateKey, fx.auth.config.keyEncryptionKey, source);
    await assertRefused(
      { kid: target.kid, alg: 'RS256', publicJwk: target.publicJwk, sealed, format: 2 },
      KeyDecryptionError,
    );
  });

  it('when a row claims an algorithm its key cannot have, then it is refused', async () => {
    const key = await generateSigningKey('ES256');
    await assertRefused(
      {
        kid: key.kid,
        alg: 'RS256',
        publicJwk: key.publicJwk,
        sealed: encryptPrivateKey(key.privateKey, fx.auth.config.keyEncryptionKey, key),
        format: 2,
      },
      KeyIntegrityError,
      /RSA/,
    );
  });

  it('when a retired key that has left the JWKS cannot be opened, then it is ignored: never used nor published', async () => {
    const key = await generateSigningKey('RS256');
    const before = await publishedKids();
    await withRow(
      {
        kid: key.kid,
        alg: 'RS256',
        publicJwk: key.publicJwk,
        sealed: randomBytes(1_300), // e.g. stored under a key-encryption key since replaced
        format: 2,
        activatesAt: new Date(Date.now() - 3 * 86_400_000), // before the current key (back-dated a day)
      },
      async (reload) => {
        await reload;
        assert.deepEqual(await publishedKids(), before);
        assert.notEqual(fx.auth.service.keyring.signingKey().kid, key.kid);
      },
    );
  });

  it('when a row was written in format 1 (the kid alone as additional data), then it still loads and signs', async () => {
    const key = await generateSigningKey('RS256');
    const sealed = sealFormat1(key.privateKey, fx.auth.config.keyEncryptionKey, key.kid);
    await withRow(
      { kid: key.kid, alg: 'RS256', publicJwk: key.publicJwk, sealed, format: 1, activatesAt: new Date() },
      async (reload) => {
        await reload;
        assert.equal(fx.auth.service.keyring.signingKey().kid, key.kid);
        assert.ok((await publishedKids()).includes(key.kid));
        const { access_token } = await registerAndLogin(fx.auth.url);
        const header = JSON.parse(Buffer.from(access_token.split('.')[0]!, 'base64url').toString());
        assert.equal(header.kid, key.kid);
        assert.equal((await http(`${fx.auth.url}/auth/me`, { token: access_token })).status, 200);
      },
    );
  });

  it('when a format-1 row is moved to another kid, then it does not decrypt', async () => {
    const source = await generateSigningKey('RS256');
    const target = await generateSigningKey('RS256');
    assert.notEqual(thumbprint(target.publicJwk), source.kid);
    await assertRefused(
      {
        kid: target.kid,
        alg: 'RS256',
        publicJwk: target.publicJwk,
        sealed: sealFormat1(source.privateKey, fx.auth.config.keyEncryptionKey, source.kid),
        format: 1,
      },
      KeyDecryptionError,
    );
  });
});

/** How rows of `key_format` 1 were sealed: AES-256-GCM, the kid alone as additional data. */
function sealFormat1(privateKey: KeyObject, kek: Buffer, kid: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const ciphertext = Buffer.concat([cipher.update(der), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}
