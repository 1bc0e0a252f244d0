// One version (scripts/version.ts): the root package.json's version is the only one; the chart's version and
// appVersion, its default image tag, the kit's, the lock file's, the Dockerfile's default, the example
// chart (dependency, lock digest, values), deploy/ and the docs' commands all follow it. Checked on the real
// files, and on a copy where one place is edited (the check must name it) or all are rewritten by version:set.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PLACES, REPO_ROOT, checkVersions, isPrerelease, isReleaseVersion, setVersion, sourceVersion } from '../../../scripts/version.ts';

/** A temporary copy of just the files the check reads. */
function copyOfRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-versions-'));
  for (const file of ['package.json', 'charts/baton/values.yaml', ...PLACES.map((p) => p.file)]) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(dir, file));
  }
  return dir;
}

const edit = (root: string, file: string, from: string | RegExp, to: string) => {
  const path = join(root, file);
  const text = readFileSync(path, 'utf8');
  const next = text.replace(from, to);
  expect(next, `${file}: the edit applies`).not.toBe(text);
  writeFileSync(path, next);
};

describe('one version: everything follows the root package.json', () => {
  it('the repository agrees with itself', () => {
    expect(checkVersions()).toEqual([]);
  });

  it("the root package is private: npm never publishes the sidecar (the name baton is another project's on npm)", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { private?: boolean };
    expect(pkg.private).toBe(true);
  });

  it.each([
    ['charts/baton/Chart.yaml', /^appVersion: ".*"$/m, 'appVersion: "9.9.9"', 'charts/baton/Chart.yaml: appVersion is 9.9.9'],
    ['charts/baton/Chart.yaml', /^version: .*$/m, 'version: 9.9.9', 'charts/baton/Chart.yaml: version is 9.9.9'],
    ['packages/baton-worker/package.json', /"version": ".*?"/, '"version": "9.9.9"', 'packages/baton-worker/package.json: the kit\'s "version" is 9.9.9'],
    ['Dockerfile', /^ARG VERSION=.*$/m, 'ARG VERSION=9.9.9', 'Dockerfile: ARG VERSION is 9.9.9'],
    ['charts/baton/values.yaml', /(The baton image's tag\..*\n\s+tag: )""/, '$1"9.9.9"', 'charts/baton/values.yaml: sidecar.image.tag defaults to "9.9.9"'],
    [
      'charts/examples/my-bot/Chart.lock',
      /^digest: .*$/m,
      'digest: sha256:0000',
      'charts/examples/my-bot/Chart.lock: digest (helm dependency build refuses a stale one) is a digest of no known version',
    ],
    ['deploy/baton.yaml', /helm\.sh\/chart: baton-\S+/, 'helm.sh/chart: baton-9.9.9', 'deploy/baton.yaml: helm.sh/chart labels is 9.9.9'],
    ['README.md', /\/baton:\d\S*/, '/baton:9.9.9', 'README.md: baton:<tag> in commands is 9.9.9'],
    ['README.md', /charts\/baton --version \S+/, 'charts/baton --version 9.9.9', 'README.md: helm install --version is 9.9.9'],
    // Where the release publishes is where the chart and the kit point.
    [
      'charts/baton/values.yaml',
      /repository: ghcr\.io\/baton-sidecar\/baton/,
      'repository: registry.example.com/baton',
      'charts/baton/values.yaml: sidecar.image.repository defaults to "registry.example.com/baton", not ghcr.io/baton-sidecar/baton',
    ],
    [
      'packages/baton-worker/package.json',
      /github\.com\/baton-sidecar\/baton\.git/,
      'github.com/someone/fork.git',
      'packages/baton-worker/package.json: repository is',
    ],
  ])('names a place that disagrees: %s', (file, from, to, message) => {
    const root = copyOfRepo();
    expect(checkVersions(root)).toEqual([]);
    edit(root, file, from, to);
    const problems = checkVersions(root);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  it('version:set rewrites every place, and the check agrees with the result', () => {
    const root = copyOfRepo();
    setVersion('0.2.0-rc.1', root);
    expect(sourceVersion(root)).toBe('0.2.0-rc.1');
    expect(checkVersions(root)).toEqual([]);
    expect(readFileSync(join(root, 'charts/baton/Chart.yaml'), 'utf8')).toMatch(/^version: 0\.2\.0-rc\.1\nappVersion: "0\.2\.0-rc\.1"$/m);
    expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toMatch(/^ARG VERSION=0\.2\.0-rc\.1$/m);
    // Nothing but the version changed: setting the old one back restores every file byte for byte.
    setVersion(sourceVersion(REPO_ROOT), root);
    for (const file of ['package.json', ...PLACES.map((p) => p.file)]) {
      expect(readFileSync(join(root, file), 'utf8'), file).toBe(readFileSync(join(REPO_ROOT, file), 'utf8'));
    }
  });

  it('accepts release versions only', () => {
    expect(() => setVersion('v0.2', copyOfRepo())).toThrow('is not a release version');
    expect(['0.2.0', '1.0.0-rc.1'].map(isReleaseVersion)).toEqual([true, true]);
    expect(['0.2', '01.0.0', '1.0.0+build.5', 'latest'].map(isReleaseVersion)).toEqual([false, false, false, false]);
    expect([isPrerelease('1.0.0-rc.1'), isPrerelease('1.0.0')]).toEqual([true, false]);
  });
});
