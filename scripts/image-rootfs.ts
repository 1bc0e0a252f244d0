// Assembles the final stage of the Dockerfile for linux/amd64 or linux/arm64 without a container engine,
// to measure and run it: npm's official Node 24 binary of that architecture (as in the distroless base),
// the loader and libraries its ELF headers name, from Debian's packages of that architecture
// (scripts/image-base.ts), a passwd/group and /tmp (what distroless adds), and the bundle at the path the
// Dockerfile copies it to. Writes an OCI image layout (two gzip layers: base and app) and one tar archive
// of it, and returns the sizes.
//   node scripts/image-rootfs.ts      prints the sizes of both architectures
// It measures what this repository controls; the real distroless base carries a few more small files
// (tzdata, ca-certificates, licenses), so the real image is slightly larger than this one.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, bundle } from './bundle.ts';
import type { Arch } from './elf.ts';
import { ARCHES, debianSysroot, nodeBinaryFor, nodeVersion, sharedLibraries } from './image-base.ts';

/** The final stage as the Dockerfile declares it. */
export interface FinalStage {
  entrypoint: string[];
  user: string;
  /** The bundle's path in the image (the COPY destination). */
  bundlePath: string;
}

export function readFinalStage(dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')): FinalStage {
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? 'null') as string[] | null;
  const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
  const bundlePath = /^COPY --from=build \/src\/build\/baton\.mjs (\S+)$/m.exec(dockerfile)?.[1];
  if (!entrypoint || !user || !bundlePath) throw new Error('Dockerfile: no ENTRYPOINT, USER or COPY of build/baton.mjs in the final stage');
  return { entrypoint, user, bundlePath };
}

export interface ImageSizes {
  /** The OCI architecture of the image (its config's `architecture`). */
  architecture: Arch;
  /** What the base layer was made of: the Node package and Debian's packages with their versions. */
  base: { node: string; packages: string[] };
  dir: string;
  rootfs: string;
  /** The OCI layout in one tar file (what `docker save`/`skopeo copy oci-archive:` handle). */
  archive: string;
  layers: Array<{ name: string; bytes: number; gzipBytes: number }>;
  /** Sum of the compressed layers: what a registry stores and a node pulls. */
  compressedBytes: number;
  archiveBytes: number;
}

function layerTar(dir: string, out: string): Buffer {
  execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', dir, '-cf', out, '.']);
  return readFileSync(out);
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/**
 * Builds `arch`'s rootfs and OCI archive under a fresh temporary directory; `entry` is the bundle's entry
 * point (the default is the sidecar's compiled CLI, as `npm run bundle`).
 */
export async function assembleImage({ arch = 'amd64', entry }: { arch?: Arch; entry?: string } = {}): Promise<ImageSizes> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-image-'));
  try {
    return await assembleInto(dir, arch, entry);
  } catch (e) {
    // The caller gets no folder to remove when the assembly fails.
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function assembleInto(dir: string, arch: Arch, entry: string | undefined): Promise<ImageSizes> {
  const stage = readFinalStage();
  const nodeBinary = nodeBinaryFor(arch);
  const { sysroot, packages } = debianSysroot(arch);
  const base = join(dir, 'layers', 'base');
  const app = join(dir, 'layers', 'app');
  const nodePath = stage.entrypoint[0]!;

  // Base layer: node and its libraries at the paths the dynamic loader looks them up.
  mkdirSync(join(base, dirname(nodePath)), { recursive: true });
  copyFileSync(nodeBinary, join(base, nodePath));
  chmodSync(join(base, nodePath), 0o755);
  for (const lib of sharedLibraries(nodeBinary, sysroot, arch)) {
    mkdirSync(join(base, dirname(lib.path)), { recursive: true });
    if ('linkTo' in lib) symlinkSync(lib.linkTo, join(base, lib.path));
    else copyFileSync(lib.source, join(base, lib.path));
  }
  mkdirSync(join(base, 'etc'), { recursive: true });
  writeFileSync(join(base, 'etc', 'passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  writeFileSync(join(base, 'etc', 'group'), 'root:x:0:\nnonroot:x:65532:\n');
  mkdirSync(join(base, 'tmp'), { recursive: true });
  chmodSync(join(base, 'tmp'), 0o1777);

  // App layer: the bundle.
  const { bytes } = await bundle(join(dir, 'build', 'baton.mjs'), entry);
  if (bytes <= 0) throw new Error('empty bundle');
  mkdirSync(join(app, dirname(stage.bundlePath)), { recursive: true });
  copyFileSync(join(dir, 'build', 'baton.mjs'), join(app, stage.bundlePath));

  // The rootfs as a container would see it (both layers), for running it with chroot.
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs);
  execFileSync('cp', ['-a', `${base}/.`, `${app}/.`, rootfs]);

  // OCI image layout.
  const oci = join(dir, 'oci');
  const blobs = join(oci, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer | string) => {
    const digest = sha(b);
    writeFileSync(join(blobs, digest), b);
    return { digest: `sha256:${digest}`, size: Buffer.byteLength(b) };
  };
  const layers: ImageSizes['layers'] = [];
  const descriptors = [];
  const diffIds = [];
  for (const [name, src] of [
    ['base', base],
    ['app', app],
  ] as const) {
    const tar = layerTar(src, join(dir, `${name}.tar`));
    const gz = gzipSync(tar);
    layers.push({ name, bytes: tar.length, gzipBytes: gz.length });
    diffIds.push(`sha256:${sha(tar)}`);
    descriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gz) });
  }
  const config = put(
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      config: { User: stage.user, Entrypoint: stage.entrypoint, Env: ['NODE_ENV=production'], ExposedPorts: { '4041/tcp': {} } },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const manifest = put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: descriptors,
    }),
  );
  writeFileSync(join(oci, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(oci, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'baton' } }],
    }),
  );
  const archive = join(dir, 'baton.oci.tar');
  execFileSync('tar', ['--sort=name', '--mtime=@0', '-C', oci, '-cf', archive, '.']);
  return {
    architecture: arch,
    base: { node: `${ARCHES[arch].npmPackage}@${nodeVersion()}`, packages },
    dir,
    rootfs,
    archive,
    layers,
    compressedBytes: layers.reduce((n, l) => n + l.gzipBytes, 0),
    archiveBytes: statSync(archive).size,
  };
}

export const MB = 1_000_000;

if (import.meta.main) {
  for (const arch of ['amd64', 'arm64'] as const) {
    const s = await assembleImage({ arch });
    for (const l of s.layers)
      process.stdout.write(`linux/${arch} layer ${l.name}: ${(l.bytes / MB).toFixed(1)} MB, ${(l.gzipBytes / MB).toFixed(1)} MB compressed\n`);
    process.stdout.write(
      `linux/${arch} image: ${(s.compressedBytes / MB).toFixed(1)} MB compressed (${s.base.node}; ${s.base.packages.join(', ')}); OCI archive ${s.archive}: ${(s.archiveBytes / MB).toFixed(1)} MB\n`,
    );
  }
}
