/**
 * scripts/gateway-refresh.sh: nginx resolves auth's and the resources' names when it starts, so after an `up` that
 * recreated one of them (make observe, make up-ha after make up) the gateway must be recreated too, with the
 * exporter that lives in its network namespace. Run with a fake `docker` first on PATH that answers `compose ps` and
 * `inspect` for the containers of each case and records every `compose up` it is asked for.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pathWithout, testScope, useTempDir } from '@authstack/testing';

const SCRIPT = fileURLToPath(new URL('../../scripts/gateway-refresh.sh', import.meta.url));

/** `compose [flags] ps --status running -q <service>`: an id when FAKE_STARTED names the service; `inspect`: its start. */
const FAKE_DOCKER = `
for last; do :; done
case "$1" in
  compose)
    case " $* " in
      *" ps --status running -q "*)
        for entry in $FAKE_STARTED; do [ "\${entry%%=*}" = "$last" ] && echo "id-$last"; done; exit 0 ;;
      *" up "*) echo "$*" >> "$FAKE_CALLS"; exit 0 ;;
    esac ;;
  inspect)
    for entry in $FAKE_STARTED; do [ "id-\${entry%%=*}" = "$last" ] && { echo "\${entry#*=}"; exit 0; }; done
    echo "Error: No such object: $last" >&2; exit 1 ;;
esac
echo "fake docker: unexpected $*" >&2; exit 1`;

/** Runs the script with these containers (service → start time) and returns the compose `up` calls it made. */
function refresh(t: TestContext, started: Record<string, string>): string[] {
  const dir = useTempDir(testScope(t), 'authstack-gateway-refresh');
  const calls = join(dir, 'calls');
  const result = spawnSync('bash', [SCRIPT, '-f', 'docker-compose.yml', '-f', 'docker-compose.ha.yml'], {
    encoding: 'utf8',
    env: {
      PATH: pathWithout(dir, ['docker'], { docker: FAKE_DOCKER }),
      FAKE_STARTED: Object.entries(started)
        .map(([service, at]) => `${service}=${at}`)
        .join(' '),
      FAKE_CALLS: calls,
    },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.doesNotMatch(result.stderr, /fake docker/);
  return existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [];
}

const EARLY = '2026-12-07T10:00:00.100000000Z';
const LATER = '2026-12-07T10:05:00.200000000Z';

describe('scripts/gateway-refresh.sh', () => {
  it('when auth started after the gateway, then the gateway is recreated in the same stack', (t) => {
    assert.deepEqual(refresh(t, { gateway: EARLY, auth: LATER, resource: EARLY }), [
      'compose -f docker-compose.yml -f docker-compose.ha.yml up -d --wait --force-recreate --no-deps gateway',
    ]);
  });

  it('when a resource started after the gateway and the exporter runs, then both are recreated', (t) => {
    assert.deepEqual(
      refresh(t, { gateway: EARLY, auth: EARLY, 'resource-session': LATER, 'nginx-exporter': EARLY }),
      [
        'compose -f docker-compose.yml -f docker-compose.ha.yml up -d --wait --force-recreate --no-deps gateway nginx-exporter',
      ],
    );
  });

  it('when the gateway started after every service, then nothing is recreated', (t) => {
    assert.deepEqual(
      refresh(t, { gateway: LATER, auth: EARLY, resource: EARLY, 'resource-session': EARLY }),
      [],
    );
  });

  it('when no gateway runs, then nothing is recreated', (t) => {
    assert.deepEqual(refresh(t, { auth: LATER }), []);
  });
});
