// The previous release's sidecar, built from its commit, for the upgrade tests: a rolling update in which
// the old pods run the last release and the new ones this tree (and back, for a rollback) must hand over
// exactly as two pods of one release do. Built once into the cache, the way the image is built: the
// commit's own `npm ci`, `tsc` and `scripts/bundle.ts`, so the bundle is what that release's image runs.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOnce, cacheRoot } from '../kube/binaries.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The last release: the commit of the last submission that landed on main. Move it forward when a
 * release lands (the tests then prove the next upgrade from it).
 */
export const PREVIOUS_RELEASE = {
  commit: '725381dda0e6bc7faaa9fab4ee24884404a49a9d',
  name: 'main@725381d (issues 18 and 19: F1 fence, the claim rule)',
} as const;

/** The sidecar bundle of `PREVIOUS_RELEASE` (one file, run with `node`, as its image does). */
export async function previousReleaseBundle(log: (line: string) => void = (l) => console.error(l)): Promise<string> {
  const dir = join(cacheRoot(), 'previous-release', PREVIOUS_RELEASE.commit);
  await buildOnce(
    dir,
    ['baton.mjs'],
    `the sidecar of ${PREVIOUS_RELEASE.name}`,
    async (staging) => {
      await checkCommit(PREVIOUS_RELEASE.commit);
      const tree = join(staging, 'tree');
      mkdirSync(tree);
      await run('sh', ['-c', `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`, 'sh', root, PREVIOUS_RELEASE.commit, tree], root);
      // The commit's own lock file, from the npm registry (or npm's cache); no install scripts, as the
      // Dockerfile builds it.
      await run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], tree);
      await run(process.execPath, [join(tree, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], tree);
      await run(process.execPath, [join(tree, 'scripts', 'bundle.ts')], tree);
      copyFileSync(join(tree, 'build', 'baton.mjs'), join(staging, 'baton.mjs'));
    },
    log,
    `commit ${PREVIOUS_RELEASE.commit.slice(0, 12)} of this repository and the npm registry`,
  );
  const bundle = join(dir, 'baton.mjs');
  if (!existsSync(bundle)) throw new Error(`the previous release's bundle is missing after its build: ${bundle}`);
  return bundle;
}

async function checkCommit(commit: string): Promise<void> {
  try {
    await run('git', ['-C', root, 'cat-file', '-e', `${commit}^{commit}`], root);
  } catch {
    throw new Error(
      `baton tests: the previous release's commit ${commit} is not in this clone (a shallow clone?).\n` +
        'The upgrade tests build its sidecar from it: run `git fetch --unshallow` (or clone without --depth) and run the tests again.',
    );
  }
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) exited with ${code}\n${err}`))));
  });
}
