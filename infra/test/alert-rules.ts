/**
 * The alert rules of the observability profile and their promtool unit tests, as files: every `*.yml` of
 * infra/observability/rules is a rule file Prometheus loads (`rule_files` in prometheus.yml), every `*.yml` of its
 * `tests` folder a `promtool test rules` file. Read by the static tests (infra/test) and the container stage.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RULES_DIR = join(ROOT, 'infra/observability/rules');
export const RULE_TESTS_DIR = join(RULES_DIR, 'tests');

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleFile {
  groups: { name: string; rules: (AlertingRule | { record: string; expr: string })[] }[];
}
export interface RuleTestFile {
  rule_files: string[];
  tests: {
    name?: string;
    alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: unknown[] | null }[];
  }[];
}

const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.yml'))
    .sort()
    .map((name) => join(dir, name));

/** Every rule file Prometheus loads, by absolute path. */
export const ruleFiles = (): string[] => yamlFiles(RULES_DIR);
/** Every promtool unit-test file, by absolute path. */
export const ruleTestFiles = (): string[] => yamlFiles(RULE_TESTS_DIR);

export const readYaml = <T>(path: string): T => parse(readFileSync(path, 'utf8')) as T;

/** The alerting rules of the given rule files (recording rules left out). */
export function alertingRules(files = ruleFiles()): AlertingRule[] {
  return files.flatMap((file) =>
    readYaml<RuleFile>(file).groups.flatMap((group) =>
      group.rules.filter((rule): rule is AlertingRule => 'alert' in rule),
    ),
  );
}

/**
 * The alerts no unit test sees firing: an alert with no `alert_rule_test` case that expects it (a non-empty
 * `exp_alerts`) in any test file.
 */
export function alertsWithoutFiringTest(alerts: string[], tests: RuleTestFile[]): string[] {
  const fired = new Set(
    tests.flatMap((file) =>
      file.tests.flatMap((group) =>
        (group.alert_rule_test ?? [])
          .filter((test) => (test.exp_alerts ?? []).length > 0)
          .map((test) => test.alertname),
      ),
    ),
  );
  return alerts.filter((name) => !fired.has(name));
}

/** The promtool of `make test` (scripts/promtool.sh: on PATH or extracted into the cache), or why there is none. */
export function findPromtool(): { path: string } | { missing: string } {
  const found = spawnSync('bash', [join(ROOT, 'scripts/promtool.sh')], { encoding: 'utf8' });
  return found.status === 0 ? { path: found.stdout.trim() } : { missing: found.stderr.trim() };
}
