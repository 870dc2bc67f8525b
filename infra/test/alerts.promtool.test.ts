/**
 * The observability profile's alert rules (infra/observability/rules/*.yml): `promtool check rules` on every rule file
 * and `promtool test rules` on every unit-test file (rules/tests/*.yml), with promtool's output printed; every alert
 * seen firing by at least one unit test; every alert with a `for`, a severity and what to do. promtool comes from
 * scripts/promtool.sh (on PATH, or Debian's extracted into the cache; scripts/test-toolchain.sh counts it, so a host
 * without it runs `make test` in the test container, which has it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { basename, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import {
  alertingRules,
  alertsWithoutFiringTest,
  findPromtool,
  RULE_TESTS_DIR,
  RULES_DIR,
  type RuleTestFile,
  readYaml,
  ruleFiles,
  ruleTestFiles,
} from './alert-rules.ts';

const promtool = findPromtool();

/** Runs promtool in the rules folder (short file names in its output) and prints what it says. */
function runPromtool(args: string[]): { status: number | null; output: string } {
  if (!('path' in promtool)) assert.fail(`make test needs promtool: ${promtool.missing}`);
  const result = spawnSync(promtool.path, args, { cwd: RULES_DIR, encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`.trimEnd();
  console.log(`$ promtool ${args.join(' ')}\n${output}`);
  return { status: result.status, output };
}

describe('the alert rules, checked and unit-tested by promtool', () => {
  const rules = ruleFiles();
  const tests = ruleTestFiles();

  it('when make test runs, then it has promtool', () => {
    assert.ok(
      'path' in promtool,
      `make test needs promtool: ${'missing' in promtool ? promtool.missing : ''}`,
    );
  });

  it('when promtool checks every rule file, then each one is valid', () => {
    assert.ok(rules.length > 0, 'no rule file');
    const { status, output } = runPromtool(['check', 'rules', ...rules.map((f) => relative(RULES_DIR, f))]);
    assert.equal(status, 0, output);
    for (const file of rules) assert.match(output, new RegExp(`Checking ${basename(file)}\\n\\s+SUCCESS`));
  });

  it('when promtool runs every unit-test file, then every test passes', () => {
    assert.ok(tests.length > 0, 'no unit-test file');
    const { status, output } = runPromtool(['test', 'rules', ...tests.map((f) => relative(RULES_DIR, f))]);
    assert.equal(status, 0, output);
    assert.doesNotMatch(output, /FAILED/);
  });

  it('every rule file is named by a unit-test file, and every alert fires in at least one unit test', () => {
    const testFiles = tests.map((file) => ({ file, parsed: readYaml<RuleTestFile>(file) }));
    const tested = new Set(
      testFiles.flatMap(({ parsed }) => parsed.rule_files.map((name) => resolve(RULE_TESTS_DIR, name))),
    );
    assert.deepEqual(
      rules.filter((file) => !tested.has(file)).map((file) => relative(RULES_DIR, file)),
      [],
      'rule files no unit-test file loads',
    );
    const alerts = alertingRules(rules).map((rule) => rule.alert);
    assert.ok(alerts.length >= 9, alerts.join(', '));
    assert.equal(new Set(alerts).size, alerts.length, 'alert names are unique');
    assert.deepEqual(
      alertsWithoutFiringTest(
        alerts,
        testFiles.map(({ parsed }) => parsed),
      ),
      [],
      'alerts no unit test sees firing',
    );
  });

  it('when an alert has no test that fires it, then the coverage check names it', () => {
    const fires = { eval_time: '5m', alertname: 'Covered', exp_alerts: [{}] };
    const silent = { eval_time: '5m', alertname: 'OnlySilent', exp_alerts: [] };
    assert.deepEqual(
      alertsWithoutFiringTest(
        ['Covered', 'OnlySilent', 'Untested'],
        [{ rule_files: [], tests: [{ alert_rule_test: [fires, silent] }] }],
      ),
      ['OnlySilent', 'Untested'],
    );
  });

  it('every alert waits with a `for`, has a severity, and says what happened and what to do', () => {
    for (const rule of alertingRules(rules)) {
      assert.match(rule.for ?? '', /^\d+[smh]$/, `${rule.alert}: for`);
      assert.ok(['critical', 'warning'].includes(rule.labels?.severity ?? ''), `${rule.alert}: severity`);
      assert.ok((rule.annotations?.summary ?? '').length > 10, `${rule.alert}: summary`);
      assert.ok((rule.annotations?.description ?? '').length > 80, `${rule.alert}: description`);
    }
  });
});
