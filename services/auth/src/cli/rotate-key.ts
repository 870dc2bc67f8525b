/**
 * Stage a new signing key: `npm run keys:rotate -w services/auth` (or `make rotate-key`).
 * The key is published in the JWKS at once and signs after KEY_ACTIVATION_DELAY seconds.
 */
import { ConfigError, loadConfig } from '../config.ts';
import { audit } from '../domain/audit.ts';
import { keyringFromConfig } from '../keys/keyring.ts';
import { createPool } from '../store/db.ts';
import { createEventStore } from '../store/events.ts';
import { createSigningKeyStore } from '../store/signing-keys.ts';

try {
  const config = loadConfig();
  const db = createPool(config.databaseUrl, 1);
  try {
    const keyring = keyringFromConfig(config, createSigningKeyStore(db));
    await keyring.init();
    const staged = await keyring.rotate();
    await audit({ events: createEventStore(db) }, undefined, {
      type: 'key_rotation',
      details: { kid: staged.kid, source: 'cli' },
    });
    console.log(
      `staged signing key ${staged.kid} (${staged.alg}); it signs from ${staged.activatesAt.toISOString()}`,
    );
  } finally {
    await db.end();
  }
} catch (error) {
  const message =
    error instanceof ConfigError ? `configuration error: ${error.message}` : String((error as Error).message);
  console.error(`keys:rotate: ${message}`);
  process.exit(1);
}
