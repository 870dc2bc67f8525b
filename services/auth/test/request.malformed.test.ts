/**
 * Found by the property-based test (fuzz.no-5xx.test.ts): two malformed requests that answered 500. A body whose
 * Content-Encoding does not match its bytes, and a path parameter with a malformed %-escape, are client errors:
 * 400 `bad_request`, problem+json.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerAndLogin, useAuth } from './support.ts';

describe('malformed requests', () => {
  const auth = useAuth();

  async function assertBadRequest(response: Response) {
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(((await response.json()) as { code: string }).code, 'bad_request');
  }

  for (const encoding of ['gzip', 'deflate', 'br']) {
    it(`when a body says Content-Encoding: ${encoding} but is plain JSON, then 400 bad_request`, async () => {
      await assertBadRequest(
        await fetch(`${auth.url}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': encoding },
          body: '{"username":"a","password":"b"}',
        }),
      );
    });
  }

  it('when a path parameter has a malformed %-escape, then 400 bad_request', async () => {
    const { access_token } = await registerAndLogin(auth.url);
    await assertBadRequest(
      await fetch(`${auth.url}/auth/sessions/%E0%A4%A`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${access_token}` },
      }),
    );
  });
});
