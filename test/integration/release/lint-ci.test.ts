// `npm run lint`'s second half (scripts/lint-ci.ts): the workflows cannot run here, so actionlint (built from
// its Go module) and shellcheck must catch what would break them. Proven on broken files in a temp folder:
// a lint that passes everything would pass the real workflows too.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureActionlint, lintCi, LintSetupError, runActionlint, runShellcheck, shellScripts, workflowFiles } from '../../../scripts/lint-ci.ts';
import { REPO_ROOT } from '../../../scripts/version.ts';

let actionlint: string;

beforeAll(async () => {
  actionlint = await ensureActionlint();
}, 600_000);

const GOOD = `name: ok
on: [pull_request]
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - run: echo "ok $GITHUB_SHA"
`;

/** A repository with one workflow and one script. */
function repo(workflow: string, script = '#!/usr/bin/env bash\nset -euo pipefail\necho "fine"\n'): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-lint-'));
  mkdirSync(join(dir, '.github', 'workflows'), { recursive: true });
  writeFileSync(join(dir, '.github', 'workflows', 'ci.yml'), workflow);
  mkdirSync(join(dir, '.ci'));
  writeFileSync(join(dir, '.ci', 'run'), script);
  return dir;
}

const quiet = () => {};

describe('actionlint and shellcheck in npm run lint', () => {
  it("the repository's own workflows and scripts are clean", async () => {
    const lines: string[] = [];
    expect(await lintCi(REPO_ROOT, (l) => lines.push(l))).toBe(0);
    expect(workflowFiles(REPO_ROOT).map((f) => f.slice(REPO_ROOT.length + 1))).toEqual(['.github/workflows/ci.yml', '.github/workflows/release.yml']);
    expect(lines.join('\n')).toContain('clean');
  });

  it('passes a good workflow', async () => {
    expect(await lintCi(repo(GOOD), quiet)).toBe(0);
  });

  it('rejects a broken workflow: an unknown job in needs, an unknown context, and a run: script shellcheck refuses', async () => {
    const bad = GOOD.replace('    steps:\n', '    needs: [nosuchjob]\n    steps:\n      - run: echo "${{ github.nosuchfield }}"\n      - run: rm -rf $DIR/*\n');
    const dir = repo(bad);
    const r = runActionlint(actionlint, workflowFiles(dir), dir);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('job "build" needs job "nosuchjob" which does not exist');
    expect(r.output).toContain('property "nosuchfield" is not defined');
    // actionlint's shellcheck pass ran: SC2086 is shellcheck's, not actionlint's.
    expect(r.output).toMatch(/shellcheck reported issue in this script: SC2086/);
    const lines: string[] = [];
    expect(await lintCi(dir, (l) => lines.push(l))).toBe(1);
    expect(lines.at(-1)).toContain('actionlint v1.7.12 found problems');
  });

  it('rejects a workflow that is not valid YAML for Actions (a step with both uses and run)', () => {
    const dir = repo(GOOD.replace('      - run: echo "ok $GITHUB_SHA"\n', '      - uses: actions/checkout@v4\n        run: echo hi\n'));
    const r = runActionlint(actionlint, workflowFiles(dir), dir);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('unexpected key "uses" for step to run shell command');
  });

  it('shellchecks every shell script, .ci/run (found by its shebang) included', async () => {
    const dir = repo(GOOD, '#!/usr/bin/env bash\ncd $1\n');
    writeFileSync(join(dir, 'README'), 'not a script\n');
    expect(shellScripts(dir).map((f) => f.slice(dir.length + 1))).toEqual(['.ci/run']);
    const r = runShellcheck(shellScripts(dir), dir);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('SC2086');
    const lines: string[] = [];
    expect(await lintCi(dir, (l) => lines.push(l))).toBe(1);
    expect(lines.at(-1)).toBe('npm run lint: shellcheck found problems (above)');
    expect(shellScripts(REPO_ROOT).map((f) => f.slice(REPO_ROOT.length + 1))).toEqual(
      expect.arrayContaining(['.ci/run', 'scripts/prerequisites.sh', 'e2e/kind/run.sh']),
    );
  });

  it('a folder without workflows is an error, not a pass', async () => {
    await expect(lintCi(mkdtempSync(join(tmpdir(), 'baton-lint-empty-')), quiet)).rejects.toThrow('no workflows in');
  });

  it('without Go (and no cached actionlint) it fails with the fix', async () => {
    const noGo = async () => {
      // What test/kube/binaries.ts findGo() throws on a machine without Go.
      throw new Error('baton tests: Go was not found. The tests build a real kube-apiserver ...');
    };
    const err = await ensureActionlint(noGo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LintSetupError);
    expect((err as Error).message).toContain(
      'actionlint v1.7.12 checks .github/workflows and is built from its Go module (github.com/rhysd/actionlint/cmd/actionlint), but Go was not found',
    );
    expect((err as Error).message).toContain('Install Go 1.26 or newer');
  });
});
