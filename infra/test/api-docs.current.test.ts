/** docs/api.md's endpoint tables are what the OpenAPI documents say (scripts/api-docs.ts writes them). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { render } from '../../scripts/api-docs.ts';

const current = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');

describe('docs/api.md', () => {
  it('when the tables are generated from the OpenAPI documents, then docs/api.md already has them', () => {
    assert.equal(render(current), current, 'run: node scripts/api-docs.ts');
  });

  it('when a table row is edited by hand, then the check notices', () => {
    const edited = current.replace('`POST /auth/register`', '`POST /auth/signup`');
    assert.notEqual(edited, current);
    assert.notEqual(render(edited), edited);
  });
});
