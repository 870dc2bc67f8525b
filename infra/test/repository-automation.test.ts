/**
 * What keeps the repository current and checked where it is hosted: the GitHub Actions workflow (validated against
 * GitHub's own workflow schema, from `@actions/workflow-parser`, the parser GitHub's tooling uses) and the Renovate
 * configuration. Neither can run here; these tests keep them valid and honest.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKFLOW = '.github/workflows/ci.yml';
const workflowText = readFileSync(join(ROOT, WORKFLOW), 'utf8');
const makeTargets = new Set(
  [...readFileSync(join(ROOT, 'Makefile'), 'utf8').matchAll(/^([a-z][a-z0-9-]*):/gm)].map((m) => m[1]!),
);

interface Step {
  uses?: string;
  run?: string;
}
const workflow = parse(workflowText) as { jobs: Record<string, { steps: Step[] }> };
/** The k6 the compose file pins (the `k6` service's grafana/k6 tag). */
const k6ImageVersion = /^\s*image:\s*grafana\/k6:(\S+)$/m.exec(
  readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'),
)![1]!;

describe('the GitHub Actions workflow', () => {
  it('when parsed with GitHub workflow schema, then it has no errors', () => {
    const result = parseWorkflow({ name: WORKFLOW, content: workflowText }, new NoOperationTraceWriter());
    const errors = result.context.errors.getErrors().map((error) => error.message);
    assert.deepEqual(errors, []);
    assert.ok(result.value, 'a workflow template');
  });

  it('when a schema error is introduced, then the parser reports it (the check can fail)', () => {
    const broken = workflowText.replace('runs-on: ubuntu-24.04', 'runs-onn: ubuntu-24.04');
    const result = parseWorkflow({ name: WORKFLOW, content: broken }, new NoOperationTraceWriter());
    assert.ok(result.context.errors.getErrors().length > 0);
  });

  it('when its steps run commands, then each is a Makefile target (or the runner set-up), never a copy of one', () => {
    const runs = Object.values(workflow.jobs).flatMap((job) =>
      job.steps.filter((s) => s.run).map((s) => s.run!),
    );
    const setUp =
      /^sudo apt-get update -q && sudo apt-get install -y -q --no-install-recommends [a-z0-9 -]+$/;
    for (const run of runs) {
      if (setUp.test(run.trim())) continue;
      const target = /^make ([a-z][a-z0-9-]*)$/.exec(run.trim());
      assert.ok(target, `"${run}" is not a make target`);
      assert.ok(makeTargets.has(target[1]!), `make ${target[1]} does not exist`);
    }
    for (const needed of ['make test-docker', 'make audit', 'make test-containers'])
      assert.ok(runs.includes(needed), `${needed} is not run`);
  });

  it('when the k6 job runs, then every k6 script runs with the real k6 of the compose file, through actions pinned by commit', () => {
    const k6 = workflow.jobs.k6!.steps as (Step & { with?: Record<string, string> })[];
    const actions = k6.filter((s) => s.uses?.startsWith('grafana/'));
    for (const action of actions) assert.match(action.uses!, /^grafana\/(setup|run)-k6-action@[0-9a-f]{40}$/);
    const setup = actions.find((s) => s.uses!.startsWith('grafana/setup-k6-action@'));
    assert.equal(setup?.with?.['k6-version'], k6ImageVersion, 'the grafana/k6 tag of docker-compose.yml');
    const ran = actions
      .filter((s) => s.uses!.startsWith('grafana/run-k6-action@'))
      .flatMap((s) => s.with!.path!.split('\n'))
      .map((path) => path.trim())
      .filter(Boolean)
      .sort();
    const scripts = readdirSync(join(ROOT, 'load-tests'))
      .filter((name) => /^\d\d-.*\.ts$/.test(name))
      .map((name) => `load-tests/${name}`);
    assert.deepEqual(ran, scripts);
    assert.ok(scripts.length >= 5);
  });

  it('when the scripts are type-checked, then @types/k6 has the major version of the pinned k6 image', () => {
    const types = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
        devDependencies: Record<string, string>;
      }
    ).devDependencies['@types/k6']!;
    const installed = (
      JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
        packages: Record<string, { version: string }>;
      }
    ).packages['node_modules/@types/k6']!.version;
    const major = k6ImageVersion.split('.')[0];
    assert.match(types, new RegExp(`^[~^]?${major}\\.`), `package.json's @types/k6 ${types}`);
    assert.equal(installed.split('.')[0], major, `package-lock.json's @types/k6 ${installed}`);
  });

  it('when it scans images, then high and critical findings fail the job', () => {
    const scans = Object.values(workflow.jobs)
      .flatMap((job) => job.steps)
      .filter((s) => s.uses?.startsWith('aquasecurity/trivy-action@')) as (Step & {
      with: Record<string, string>;
    })[];
    assert.equal(scans.length, 3);
    for (const scan of scans) {
      assert.equal(scan.with['exit-code'], '1');
      assert.match(scan.with.severity!, /HIGH,CRITICAL/);
    }
  });
});

/** A `managerFilePatterns` entry in slashes is a regular expression (Renovate reads any other as a glob). */
function managerFileRegex(pattern: string): RegExp {
  const match = /^\/(.*)\/$/.exec(pattern);
  assert.ok(match, `${pattern}: a regular expression in slashes`);
  return new RegExp(match[1]!);
}

describe('the Renovate configuration', () => {
  const renovateText = readFileSync(join(ROOT, 'renovate.json'), 'utf8');
  const renovate = JSON.parse(renovateText) as {
    extends: string[];
    customManagers: { managerFilePatterns: string[]; matchStrings: string[] }[];
    packageRules: { matchPackageNames?: string[]; allowedVersions?: string; matchManagers?: string[] }[];
  };

  it('when a custom manager names its files, then it uses managerFilePatterns (fileMatch is the old name)', () => {
    assert.doesNotMatch(renovateText, /"fileMatch"/);
    for (const manager of renovate.customManagers) {
      assert.ok(manager.managerFilePatterns.length > 0);
      for (const pattern of manager.managerFilePatterns) managerFileRegex(pattern);
    }
    assert.ok(
      managerFileRegex(renovate.customManagers[0]!.managerFilePatterns[0]!).test('services/auth/Dockerfile'),
    );
  });

  it('when it runs, then images and actions are pinned by digest', () => {
    assert.ok(renovate.extends.includes('docker:pinDigests'));
    assert.ok(renovate.extends.includes('helpers:pinGitHubActionDigests'));
  });

  it('when it reads the Dockerfiles, then the Node base image in the ARG default is found', () => {
    const manager = renovate.customManagers[0]!;
    const pattern = new RegExp(manager.matchStrings[0]!);
    for (const service of ['auth', 'resource', 'client']) {
      const text = readFileSync(join(ROOT, `services/${service}/Dockerfile`), 'utf8');
      const match = pattern.exec(text);
      assert.ok(match, service);
      assert.equal(match.groups!.depName, 'node');
      assert.match(match.groups!.currentValue!, /^24\./);
    }
  });

  it("when it reads the Dockerfiles' template, then it finds the same Node image there, so an update keeps them equal", () => {
    const [dockerfiles, template] = renovate.customManagers.map((m) => new RegExp(m.matchStrings[0]!));
    const inTemplate = template!.exec(readFileSync(join(ROOT, 'infra/build/dockerfiles.ts'), 'utf8'));
    assert.ok(inTemplate, 'the template');
    assert.equal(
      managerFileRegex(renovate.customManagers[1]!.managerFilePatterns[0]!).test(
        'infra/build/dockerfiles.ts',
      ),
      true,
    );
    const inDockerfile = dockerfiles!.exec(readFileSync(join(ROOT, 'services/auth/Dockerfile'), 'utf8'));
    assert.equal(inTemplate.groups!.depName, inDockerfile!.groups!.depName);
    assert.equal(inTemplate.groups!.currentValue, inDockerfile!.groups!.currentValue);
  });

  it('when Node or its types have a new major, then they stay on the LTS the project runs (24)', () => {
    const rule = renovate.packageRules.find((r) => r.matchPackageNames?.includes('@types/node'));
    assert.equal(rule?.allowedVersions, '<25');
    assert.ok(rule?.matchPackageNames?.includes('node'));
  });
});
