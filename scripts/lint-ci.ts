// The second half of `npm run lint` (after eslint): what CI and the release run, checked here because it
// cannot run here. actionlint (built from its Go module, pinned, cached like helm) checks every workflow in
// .github/workflows — syntax, expressions, job graph, action inputs — and hands each `run:` script to
// shellcheck; shellcheck checks every shell script in the repository (*.sh and .ci/run). Both must be
// present: actionlint skips its shellcheck pass without a word when shellcheck is missing, so we look first.
//   node scripts/lint-ci.ts            (npm run lint runs it)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureGoTool } from '../test/kube/binaries.ts';
import { REPO_ROOT } from './version.ts';

/** The actionlint release the lint runs (the Go module github.com/rhysd/actionlint). */
export const ACTIONLINT_VERSION = 'v1.7.12';
const ACTIONLINT_PKG = 'github.com/rhysd/actionlint/cmd/actionlint';

/** A problem the lint cannot get past on this machine, with what to do about it. */
export class LintSetupError extends Error {}

type GoToolBuilder = (pkg: string, version: string, binary: string, log?: (line: string) => void) => Promise<string>;

/**
 * The cached actionlint, built once from the Go module proxy. Without Go (and no cached build) it fails with
 * the fix, never by skipping: a lint that quietly checks nothing is worse than none.
 */
export async function ensureActionlint(build: GoToolBuilder = ensureGoTool, log?: (line: string) => void): Promise<string> {
  try {
    return await build(ACTIONLINT_PKG, ACTIONLINT_VERSION, 'actionlint', log);
  } catch (err) {
    if (!/Go was not found/.test((err as Error).message)) throw err;
    throw new LintSetupError(
      `npm run lint: actionlint ${ACTIONLINT_VERSION} checks .github/workflows and is built from its Go module (${ACTIONLINT_PKG}), but Go was not found.\n` +
        'Install Go 1.26 or newer (https://go.dev/doc/install), put it on the PATH (or set GO=/path/to/go), and run npm run lint again.',
      { cause: err },
    );
  }
}

/** shellcheck must be on the PATH: actionlint runs it on `run:` scripts, and we run it on the scripts. */
export function requireShellcheck(): void {
  const r = spawnSync('shellcheck', ['--version'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) {
    throw new LintSetupError(
      'npm run lint: shellcheck was not found on the PATH (it checks the shell scripts and every workflow `run:` step).\n' +
        'Install it: sudo apt-get install shellcheck (scripts/prerequisites.sh tests does it when run as root).',
    );
  }
}

/** The workflow files of a repository: .github/workflows/*.yml and *.yaml. */
export function workflowFiles(root: string): string[] {
  const dir = join(root, '.github', 'workflows');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

const SKIPPED_DIRS = new Set(['node_modules', '.git', 'dist', 'build', 'coverage', '.cache', 'results']);
const SHEBANG = /^#!\s*\/(usr\/bin\/env\s+|bin\/|usr\/bin\/)(ba)?sh\b/;

/** Every shell script in the repository: *.sh, and files without an extension that start with a sh/bash shebang (.ci/run). */
export function shellScripts(root: string, dir = root): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return SKIPPED_DIRS.has(name) ? [] : shellScripts(root, path);
      if (name.endsWith('.sh')) return [path];
      if (name.includes('.')) return [];
      return SHEBANG.test(readFileSync(path, 'utf8').slice(0, 100)) ? [path] : [];
    });
}

export interface ToolRun {
  code: number;
  output: string;
}

/** actionlint over `files` (workflow paths), its shellcheck pass on; pyflakes off (no Python `run:` steps). */
export function runActionlint(bin: string, files: string[], cwd: string): ToolRun {
  const r = spawnSync(bin, ['-no-color', '-shellcheck', 'shellcheck', '-pyflakes', '', ...files], { cwd, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, output: r.stdout + r.stderr };
}

/** shellcheck over `files`, following sourced files. */
export function runShellcheck(files: string[], cwd: string): ToolRun {
  const r = spawnSync('shellcheck', ['--external-sources', ...files], { cwd, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, output: r.stdout + r.stderr };
}

/** Lints a repository's workflows and shell scripts; returns the exit code and prints what failed. */
export async function lintCi(root: string, log: (line: string) => void = (l) => console.error(l)): Promise<number> {
  requireShellcheck();
  const workflows = workflowFiles(root);
  // Finding none means the folder moved or the glob broke: say so rather than pass having checked nothing.
  if (workflows.length === 0) throw new LintSetupError(`npm run lint: no workflows in ${join(root, '.github', 'workflows')}`);
  const actionlint = await ensureActionlint(ensureGoTool, log);
  const rel = (files: string[]) => files.map((f) => relative(root, f));
  let failed = 0;
  const a = runActionlint(actionlint, rel(workflows), root);
  if (a.code !== 0) {
    log(a.output.trimEnd());
    log(`npm run lint: actionlint ${ACTIONLINT_VERSION} found problems in .github/workflows (above)`);
    failed++;
  }
  const scripts = shellScripts(root);
  const s = runShellcheck(rel(scripts), root);
  if (s.code !== 0) {
    log(s.output.trimEnd());
    log('npm run lint: shellcheck found problems (above)');
    failed++;
  }
  if (failed === 0) log(`lint: actionlint ${ACTIONLINT_VERSION} on ${workflows.length} workflows and shellcheck on ${scripts.length} scripts: clean`);
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = await lintCi(REPO_ROOT);
  } catch (err) {
    console.error(err instanceof LintSetupError ? err.message : err);
    process.exitCode = 1;
  }
}
