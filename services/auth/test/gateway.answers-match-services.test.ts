/**
 * The gateway answers some requests itself (nginx's named locations in infra/nginx/templates/gateway.conf.template):
 * a session cookie refused by the exchange, a cross-site request, an unknown path, a body too large, a backend gone.
 * Its problem bodies, headers and the session cookie it clears must be the ones auth (and `@authstack/http-problem`)
 * send for the same refusal, so a client cannot tell which of the two answered. nginx cannot import them, so this
 * test reads the template and compares.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  type HttpProblem,
  payloadTooLarge,
  problemBody,
  routeNotFound,
  serviceUnavailable,
} from '@authstack/http-problem';
import type { Response } from 'express';
import { crossSiteRequest, invalidSession } from '../src/domain/errors.ts';
import { clearSessionCookie, SESSION_COOKIE } from '../src/routes/session-cookie.ts';

const TEMPLATE = readFileSync(
  new URL('../../../infra/nginx/templates/gateway.conf.template', import.meta.url),
  'utf8',
);

interface OwnAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Map<string, string>;
}

/** Each `location @name { … return <status> '<json>'; }` of the template: the gateway's own problem answers. */
function ownAnswers(): Map<string, OwnAnswer> {
  const answers = new Map<string, OwnAnswer>();
  for (const [, name, block] of TEMPLATE.matchAll(/location @(\w+) \{([\s\S]*?)\n {4}\}/g)) {
    const returned = /return (\d{3}) '(\{.*\})';/.exec(block!);
    if (!returned) continue;
    const headers = new Map(
      [...block!.matchAll(/add_header ([\w-]+) (".*?"|'.*?'|\S+) always;/g)].map(([, header, value]) => [
        header!.toLowerCase(),
        value!.replace(/^["']|["']$/g, ''),
      ]),
    );
    answers.set(name!, { status: Number(returned[1]), body: JSON.parse(returned[2]!), headers });
  }
  return answers;
}

/** The gateway's named location and the problem the services send for the same refusal. */
const SAME_AS: Record<string, HttpProblem> = {
  invalid_session: invalidSession(),
  cross_site: crossSiteRequest(),
  not_found: routeNotFound(),
  too_large: payloadTooLarge(),
  unavailable: serviceUnavailable('upstream'),
};
/** The gateway's alone: HTTPS required on the plain-HTTP port, and its own rate limits (their code is a variable). */
const GATEWAY_ONLY = ['https_required', 'too_many'];

describe("the gateway's own answers", () => {
  const answers = ownAnswers();

  it('when the template is read, then every answer of its own is either a service problem or one of the gateway alone', () => {
    assert.deepEqual([...answers.keys()].sort(), [...Object.keys(SAME_AS), ...GATEWAY_ONLY].sort());
  });

  for (const [location, problem] of Object.entries(SAME_AS)) {
    it(`when the gateway answers ${problem.code} itself (@${location}), then status, body and headers are the service's`, () => {
      const answer = answers.get(location);
      assert.ok(answer, `location @${location} returns a problem body`);
      assert.equal(answer.status, problem.status);
      assert.deepEqual(answer.body, problemBody(problem, '$request_id'));
      for (const [header, value] of Object.entries(problem.headers))
        assert.equal(answer.headers.get(header.toLowerCase()), value, header);
    });
  }

  it('when the gateway ends a refused cookie session, then it clears the cookie with the attributes auth sets it with', () => {
    const cleared: string[] = [];
    clearSessionCookie({
      append: (_name: string, value: string) => cleared.push(value),
    } as unknown as Response);
    assert.deepEqual(cleared, [answers.get('invalid_session')?.headers.get('set-cookie')]);
  });

  it('when the gateway looks for the session cookie before the exchange, then it looks for the name auth sets', () => {
    const looksFor = /if \(\$http_cookie !~ "\(\^\|;\)\\s\*([^"=]+)="\)/.exec(TEMPLATE);
    assert.equal(looksFor?.[1], SESSION_COOKIE);
  });

  it('when the gateway keys its exchange cache by the session cookie, then it reads the value of the name auth sets, and only when the name is there once', () => {
    const map = /map \$http_cookie \$exchange_cookie \{([^}]*)\}/.exec(TEMPLATE)?.[1] ?? '';
    assert.ok(map.includes(`"~${SESSION_COOKIE}.*${SESSION_COOKIE}"`), 'a second name is not cached');
    assert.ok(map.includes(`\\s*${SESSION_COOKIE}=(?<exchange_cookie_value>`), 'the value after the name');
  });
});
