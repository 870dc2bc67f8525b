/**
 * `load_env` (scripts/lib.sh), which `make dev`, `make migrate`, `make seed` and the other native targets use to read
 * `.env`: a variable set in the environment wins, and for a secret given as NAME or NAME_FILE it wins for the pair,
 * so the services never see both forms. Each test sources the real script in bash with a `.env` of its own, then
 * loads the auth service's real configuration in the environment it produced.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { suiteScope, useTempDir } from '@authstack/testing';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENV_PASSWORD = 'from the shell environment 1';
const FILE_PASSWORD = 'from the secret file 2';

/** Prints the auth configuration's bootstrap password and key, or the ConfigError that stopped it. */
const PRINT_CONFIG = `
const { loadConfig } = await import(${JSON.stringify(join(ROOT, 'services/auth/src/config.ts'))});
try {
  const config = loadConfig();
  console.log(JSON.stringify({ password: config.bootstrapAdmin?.password, kek: config.keyEncryptionKey.toString('base64') }));
} catch (error) {
  console.log(JSON.stringify({ error: error.message }));
}`;

describe('load_env: the environment wins over .env, for a NAME / NAME_FILE pair too', () => {
  const scope = suiteScope();
  const dir = useTempDir(scope, 'authstack-env');
  const kekFile = join(dir, 'key_encryption_key');
  const kek = randomBytes(32).toString('base64');
  const otherKek = randomBytes(32).toString('base64');
  const passwordFile = join(dir, 'bootstrap_admin_password');
  const pepperFile = join(dir, 'password_pepper');

  /** Sources scripts/lib.sh, loads `dotEnv` with load_env, then loads auth's configuration from that environment. */
  function run(dotEnv: string[], environment: Record<string, string>) {
    writeFileSync(kekFile, `${kek}\n`);
    writeFileSync(passwordFile, `${FILE_PASSWORD}\n`);
    writeFileSync(pepperFile, `${randomBytes(32).toString('base64')}\n`);
    const envFile = join(dir, '.env');
    writeFileSync(envFile, `${dotEnv.join('\n')}\n`);
    const result = spawnSync(
      'bash',
      [
        '-c',
        `. scripts/lib.sh && load_env "$1" && node --input-type=module -e "$2"`,
        'bash',
        envFile,
        PRINT_CONFIG,
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: dir, ...environment },
      },
    );
    assert.equal(result.status, 0, result.stderr);
    return {
      config: JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as {
        password?: string;
        kek?: string;
        error?: string;
      },
      stderr: result.stderr,
    };
  }

  const dotEnv = () => [
    `KEY_ENCRYPTION_KEY_FILE=${kekFile}`,
    `PASSWORD_PEPPER_FILE=${pepperFile}`,
    'BOOTSTRAP_ADMIN_USERNAME=admin',
    `BOOTSTRAP_ADMIN_PASSWORD_FILE=${passwordFile}`,
  ];

  it('when the shell sets BOOTSTRAP_ADMIN_PASSWORD and .env names its _FILE, then the shell value is used and the log says the file is ignored', () => {
    const { config, stderr } = run(dotEnv(), { BOOTSTRAP_ADMIN_PASSWORD: ENV_PASSWORD });
    assert.deepEqual(config, { password: ENV_PASSWORD, kek });
    assert.match(
      stderr,
      /env: BOOTSTRAP_ADMIN_PASSWORD is set in the environment; ignoring BOOTSTRAP_ADMIN_PASSWORD_FILE from .*\.env/,
    );
    assert.doesNotMatch(stderr, new RegExp(`${ENV_PASSWORD}|${FILE_PASSWORD}`), 'no value is logged');
  });

  it('when the shell sets a _FILE and .env holds the value itself, then the shell file is used', () => {
    const shellKekFile = join(dir, 'shell_kek');
    writeFileSync(shellKekFile, `${otherKek}\n`);
    const { config, stderr } = run([`KEY_ENCRYPTION_KEY=${kek}`, `PASSWORD_PEPPER_FILE=${pepperFile}`], {
      KEY_ENCRYPTION_KEY_FILE: shellKekFile,
    });
    assert.deepEqual(config, { kek: otherKek });
    assert.match(stderr, /ignoring KEY_ENCRYPTION_KEY from/);
    assert.ok(!stderr.includes(kek), 'no value is logged');
  });

  it('when nothing is set in the shell, then .env is used as it is, silently', () => {
    const { config, stderr } = run(dotEnv(), {});
    assert.deepEqual(config, { password: FILE_PASSWORD, kek });
    assert.equal(stderr, '');
  });

  it('when the shell sets a variable to the empty string, then it counts as unset and the .env _FILE applies', () => {
    const { config } = run(dotEnv(), { BOOTSTRAP_ADMIN_PASSWORD: '' });
    assert.equal(config.password, FILE_PASSWORD);
  });

  it('when .env itself holds both forms, then the service still refuses them (the rule never hides a contradictory .env)', () => {
    const { config } = run([...dotEnv(), `BOOTSTRAP_ADMIN_PASSWORD=${ENV_PASSWORD}`], {});
    assert.match(
      config.error ?? '',
      /set either BOOTSTRAP_ADMIN_PASSWORD or BOOTSTRAP_ADMIN_PASSWORD_FILE, not both/,
    );
  });
});
