/** The shared configuration helper: empty values, `_FILE` secrets, the first error naming its variable. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigError, parseEnvironment, trustProxySchema } from '../src/index.ts';

const schema = z.object({
  SECRET: z.string({ error: 'must be set' }),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  TRUST_PROXY: trustProxySchema,
});

const configError = (variable: string, message: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ConfigError);
  assert.equal(error.variable, variable);
  assert.match(error.message, message);
  return true;
};

describe('parseEnvironment', () => {
  it('when a required variable is missing, then the error names it as required', () => {
    assert.throws(() => parseEnvironment(schema, {}), configError('SECRET', /^SECRET: required$/));
  });

  it('when a variable is empty, then it counts as unset: the default applies', () => {
    const parsed = parseEnvironment(schema, { SECRET: 's', PORT: '', TRUST_PROXY: '' });
    assert.equal(parsed.PORT, 3000);
    assert.deepEqual(parsed.TRUST_PROXY, ['loopback']);
  });

  it('when a value is invalid, then the error names the first bad variable', () => {
    assert.throws(
      () => parseEnvironment(schema, { SECRET: 's', PORT: 'eighty', TRUST_PROXY: '*' }),
      configError('PORT', /^PORT: /),
    );
  });

  it('when TRUST_PROXY trusts everyone, then the error names TRUST_PROXY', () => {
    assert.throws(
      () => parseEnvironment(schema, { SECRET: 's', TRUST_PROXY: '::/0' }),
      configError('TRUST_PROXY', /trusting every address/),
    );
  });

  it('when a secret comes from <NAME>_FILE, then the file content is the value, one trailing newline removed', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'config-')), 'secret');
    writeFileSync(file, 'from-a-file\n');
    const parsed = parseEnvironment(schema, { SECRET_FILE: file }, { fileVariables: ['SECRET'] });
    assert.equal(parsed.SECRET, 'from-a-file');
  });

  it('when both <NAME> and <NAME>_FILE are set, then the error names the variable', () => {
    assert.throws(
      () => parseEnvironment(schema, { SECRET: 'a', SECRET_FILE: '/x' }, { fileVariables: ['SECRET'] }),
      configError('SECRET', /either SECRET or SECRET_FILE/),
    );
  });

  it('when <NAME>_FILE cannot be read, then the error names <NAME>_FILE', () => {
    assert.throws(
      () => parseEnvironment(schema, { SECRET_FILE: '/nonexistent/secret' }, { fileVariables: ['SECRET'] }),
      configError('SECRET_FILE', /cannot read/),
    );
  });
});
