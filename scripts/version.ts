// One version for everything baton ships. The root package.json `version` is the single source; every
// other place that carries it (the kit, the lock file, the chart's version and appVersion, the chart's
// default image tag, the Dockerfile's VERSION default, the example chart's dependency and lock, the example
// values, deploy/ and the docs' copy-paste commands) is derived from it by `npm run version:set` and held
// to it by test/unit/release/versions.test.ts. The release workflow refuses a tag that is not `v<version>`.
//   npm run version:set -- 0.2.0      rewrites every place
//   node scripts/version.ts --check    exits 1 naming each place that disagrees
//   node scripts/version.ts --check --tag v0.2.0 --repository owner/name   also: the tag must be
//                                      v<version>, and the release must run in the repository the chart names
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';

/** The repository this script belongs to. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A release version: semver 2.0 without build metadata (npm, Helm and OCI tags all accept it). */
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
const VER = String.raw`\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?`;

/** Whether `v` is a version the release accepts. */
export function isReleaseVersion(v: string): boolean {
  return SEMVER.test(v);
}

/** Whether a version is a pre-release (npm dist-tag `next`, a GitHub pre-release). */
export function isPrerelease(v: string): boolean {
  return v.includes('-');
}

/** One place that carries the version: what it holds now, and how to rewrite it. */
interface Place {
  /** File (relative to the repository) and what in it, for messages. */
  where: string;
  /** Every version found there (a place may hold it more than once; none found is a disagreement too). */
  read(text: string): string[];
  write(text: string, version: string): string;
}

/** A place found by a regular expression whose first group is the version. */
function pattern(where: string, re: RegExp): Place {
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
  return {
    where,
    read: (text) => [...text.matchAll(g)].map((m) => m[1]!),
    write: (text, version) => text.replace(g, (all: string, old: string) => all.replace(old, version)),
  };
}

/** A JSON file's value at `path`. */
function json(where: string, path: string[]): Place {
  const get = (o: unknown) => path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);
  return {
    where,
    read: (text) => {
      const v = get(JSON.parse(text));
      return typeof v === 'string' ? [v] : [];
    },
    write: (text, version) => {
      const o = JSON.parse(text) as Record<string, unknown>;
      const parent = path.slice(0, -1).reduce<Record<string, unknown>>((v, k) => v[k] as Record<string, unknown>, o);
      parent[path.at(-1)!] = version;
      return JSON.stringify(o, null, 2) + '\n';
    },
  };
}

/**
 * Helm's digest of a Chart.lock (`sha256:` of the JSON of [Chart.yaml's dependencies, the lock's]; helm
 * refuses `dependency build` when it does not match). Our example has one dependency, the same in both.
 */
export function chartLockDigest(deps: { name: string; version: string; repository: string }[]): string {
  return (
    'sha256:' +
    createHash('sha256')
      .update(JSON.stringify([deps, deps]))
      .digest('hex')
  );
}

const EXAMPLE_DEP = (version: string) => [{ name: 'baton', version, repository: 'file://../../baton' }];

/** Every file that carries the version, and where in it. */
export const PLACES: { file: string; places: Place[] }[] = [
  { file: 'packages/baton-worker/package.json', places: [json('the kit\'s "version"', ['version'])] },
  {
    file: 'package-lock.json',
    places: [
      json('"version"', ['version']),
      json('packages[""].version', ['packages', '', 'version']),
      json('packages["packages/baton-worker"].version', ['packages', 'packages/baton-worker', 'version']),
    ],
  },
  {
    file: 'charts/baton/Chart.yaml',
    places: [pattern('version', new RegExp(`^version: (${VER})$`, 'm')), pattern('appVersion', new RegExp(`^appVersion: "(${VER})"$`, 'm'))],
  },
  // The Dockerfile's default only matters for a hand-made `docker build`; the release passes --build-arg VERSION.
  { file: 'Dockerfile', places: [pattern('ARG VERSION', new RegExp(`^ARG VERSION=(${VER})$`, 'm'))] },
  {
    file: 'charts/examples/my-bot/Chart.yaml',
    places: [pattern("the baton dependency's version", new RegExp(`- name: baton\\n\\s+version: (${VER})\\n`))],
  },
  {
    file: 'charts/examples/my-bot/Chart.lock',
    places: [
      pattern("the baton dependency's version", new RegExp(`- name: baton\\n\\s+repository: \\S+\\n\\s+version: (${VER})\\n`)),
      {
        where: 'digest (helm dependency build refuses a stale one)',
        read: (text) => {
          const digest = /^digest: (\S+)$/m.exec(text)?.[1];
          const version = new RegExp(`version: (${VER})`).exec(text)?.[1];
          // Reported as the version whose digest it is, so it reads like every other place.
          return digest && version && digest === chartLockDigest(EXAMPLE_DEP(version)) ? [version] : ['a digest of no known version'];
        },
        write: (text, version) => text.replace(/^digest: \S+$/m, `digest: ${chartLockDigest(EXAMPLE_DEP(version))}`),
      },
    ],
  },
  // A parent chart passes no .Chart.AppVersion to baton's templates, so the example names the sidecar's tag.
  { file: 'charts/examples/my-bot/values.yaml', places: [pattern('the sidecar image tag', new RegExp(`repository: \\S+/baton\\n\\s+tag: "(${VER})"`))] },
  { file: 'deploy/values.yaml', places: [pattern('the sidecar image tag', new RegExp(`repository: \\S+/baton\\n\\s+tag: "(${VER})"`))] },
  {
    file: 'deploy/baton.yaml',
    places: [
      pattern('helm.sh/chart labels', new RegExp(`helm\\.sh/chart: baton-(${VER})$`, 'm')),
      pattern('app.kubernetes.io/version labels', new RegExp(`app\\.kubernetes\\.io/version: "(${VER})"$`, 'm')),
      pattern('the sidecar image', new RegExp(`image: "\\S+/baton:(${VER})"`)),
    ],
  },
  // The docs' copy-paste commands and snippets.
  {
    file: 'README.md',
    places: [
      pattern('baton:<tag> in commands', new RegExp(`/baton:(${VER})\\b`)),
      pattern('helm install --version', new RegExp(`charts/baton --version (${VER})\\b`)),
    ],
  },
  { file: 'deploy/README.md', places: [pattern('baton:<tag> in the example', new RegExp(`/baton:(${VER})\\b`))] },
  { file: 'charts/baton/values.yaml', places: [pattern('baton:<tag> in comments', new RegExp(`/baton:(${VER})\\b`))] },
  {
    file: 'charts/baton/README.md',
    places: [
      pattern('baton:<tag> in commands', new RegExp(`/baton:(${VER})\\b`)),
      pattern('the dependency snippet', new RegExp(`- name: baton\\n\\s+version: (${VER})\\n`)),
      pattern('helm install --version', new RegExp(`charts/baton --version (${VER})\\b`)),
    ],
  },
];

/**
 * The chart's default image tag must stay empty, so that it is the chart's appVersion (the templates'
 * rule): a literal tag there would be one more place to forget.
 */
function imageTagDefault(root: string): unknown {
  const values = yaml.load(readFileSync(join(root, 'charts', 'baton', 'values.yaml'), 'utf8')) as { sidecar?: { image?: { tag?: unknown } } };
  return values.sidecar?.image?.tag;
}

/** The GitHub repository (owner/name) the chart's `home` names: where releases come from. */
export function homeRepository(root = REPO_ROOT): string | undefined {
  const chart = yaml.load(readFileSync(join(root, 'charts', 'baton', 'Chart.yaml'), 'utf8')) as { home?: string };
  return /^https:\/\/github\.com\/([^/]+\/[^/]+)$/.exec(chart.home ?? '')?.[1];
}

/**
 * Where a release publishes must be where the chart and the kit point: the chart's default image is
 * ghcr.io/<owner>/baton (registry paths are lower case), and npm provenance refuses a package whose
 * `repository` is not the repository that builds it.
 */
function checkCoordinates(root: string): string[] {
  const repo = homeRepository(root);
  if (!repo) return ['charts/baton/Chart.yaml: home is not https://github.com/<owner>/<name>'];
  const out: string[] = [];
  const values = yaml.load(readFileSync(join(root, 'charts', 'baton', 'values.yaml'), 'utf8')) as { sidecar?: { image?: { repository?: unknown } } };
  const image = `ghcr.io/${repo.split('/')[0]!.toLowerCase()}/baton`;
  if (values.sidecar?.image?.repository !== image)
    out.push(
      `charts/baton/values.yaml: sidecar.image.repository defaults to ${JSON.stringify(values.sidecar?.image?.repository)}, not ${image} (where releases of ${repo} push it)`,
    );
  const kit = JSON.parse(readFileSync(join(root, 'packages', 'baton-worker', 'package.json'), 'utf8')) as { repository?: { url?: string; directory?: string } };
  const url = `git+https://github.com/${repo}.git`;
  if (kit.repository?.url !== url || kit.repository.directory !== 'packages/baton-worker') {
    out.push(
      `packages/baton-worker/package.json: repository is ${JSON.stringify(kit.repository)}, not { url: ${url}, directory: packages/baton-worker } (npm provenance checks it)`,
    );
  }
  return out;
}

/** The single source: the root package.json's version. */
export function sourceVersion(root = REPO_ROOT): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Each place that disagrees with the root package.json's version, as `file: what is X, not Y`. */
export function checkVersions(root = REPO_ROOT): string[] {
  const version = sourceVersion(root);
  const out: string[] = [];
  if (!isReleaseVersion(version)) out.push(`package.json: "version" ${JSON.stringify(version)} is not a release version (semver, no build metadata)`);
  for (const { file, places } of PLACES) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const place of places) {
      const found = place.read(text);
      if (found.length === 0) out.push(`${file}: ${place.where} not found`);
      for (const v of new Set(found)) if (v !== version) out.push(`${file}: ${place.where} is ${v}, not ${version}`);
    }
  }
  const tag = imageTagDefault(root);
  if (tag !== '') out.push(`charts/baton/values.yaml: sidecar.image.tag defaults to ${JSON.stringify(tag)}, not "" (the chart's appVersion)`);
  out.push(...checkCoordinates(root));
  return out;
}

/** Rewrites every place (and the root package.json) to `version`. */
export function setVersion(version: string, root = REPO_ROOT): void {
  if (!isReleaseVersion(version)) throw new Error(`${JSON.stringify(version)} is not a release version (e.g. 0.2.0 or 0.2.0-rc.1)`);
  const pkgPath = join(root, 'package.json');
  writeFileSync(pkgPath, json('version', ['version']).write(readFileSync(pkgPath, 'utf8'), version));
  for (const { file, places } of PLACES) {
    const path = join(root, file);
    let text = readFileSync(path, 'utf8');
    for (const place of places) text = place.write(text, version);
    writeFileSync(path, text);
  }
}

/** The tag a release of `version` is pushed as. */
export const tagOf = (version: string): string => `v${version}`;

function main(argv: string[]): number {
  if (argv[0] === '--check') {
    const problems = checkVersions();
    const tagIndex = argv.indexOf('--tag');
    const version = sourceVersion();
    if (tagIndex >= 0 && argv[tagIndex + 1] !== tagOf(version)) {
      problems.push(`the tag ${argv[tagIndex + 1] ?? '(none)'} is not ${tagOf(version)}: run npm run version:set -- <version>, commit, then tag`);
    }
    const repoIndex = argv.indexOf('--repository');
    if (repoIndex >= 0 && argv[repoIndex + 1] !== homeRepository()) {
      problems.push(
        `this release runs in ${argv[repoIndex + 1] ?? '(none)'}, but the chart and the kit point at ${homeRepository() ?? '(none)'} (charts/baton/Chart.yaml home): a release would publish artifacts that name another repository`,
      );
    }
    for (const p of problems) console.error(`version: ${p}`);
    if (problems.length === 0) console.log(version);
    return problems.length === 0 ? 0 : 1;
  }
  if (argv.length === 1 && !argv[0]!.startsWith('-')) {
    setVersion(argv[0]!.replace(/^v/, ''));
    const left = checkVersions();
    for (const p of left) console.error(`version: ${p}`);
    if (left.length === 0)
      console.log(`version: every place now says ${sourceVersion()}; add its section to CHANGELOG.md, commit, then tag ${tagOf(sourceVersion())}`);
    return left.length === 0 ? 0 : 1;
  }
  console.error('usage: npm run version:set -- <version>  |  node scripts/version.ts --check [--tag v<version>] [--repository owner/name]');
  return 2;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
