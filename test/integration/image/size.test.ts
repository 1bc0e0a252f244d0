// The image's final stage for linux/amd64 and linux/arm64, assembled without a container engine
// (scripts/image-rootfs.ts): npm's official Node 24 binary of that architecture with the Debian libraries
// its ELF headers name, and the bundle, at the Dockerfile's paths. Their compressed sizes are the figures
// the README states; each runs (chroot) with no shell and no npm — the arm64 one under qemu-user
// (`qemu-aarch64-static`, Debian's qemu-user-static), which also leads a Lease on the test API server.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { assembleImage, MB, readFinalStage, type ImageSizes } from '../../../scripts/image-rootfs.ts';
import { readElf, type Arch } from '../../../scripts/elf.ts';
import { clientNodeMissing } from '../../../src/kube/connection.ts';
import { adminKubeConfig, freshNamespace } from '../../kube/cluster.ts';
import { SimPod } from '../../harness/sim-pod.ts';
import { waitFor } from '../../harness/wait.ts';
import { readWorkerLog } from '../../harness/timeline.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const kube = inject('kube');
const stage = readFinalStage();
/** Each image's compressed size must stay at or under this (issue 22: goal ≤ 50 MB each). */
const MAX_COMPRESSED = 50 * MB;

/** A system tool by absolute path: the image's process gets `env` only, without the host's PATH. */
const tool = (name: string) => {
  const path = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
  if (!path) throw new Error(`${name} is not installed (scripts/prerequisites.sh tests installs it): the test runs the image's rootfs with it`);
  return path;
};

/** Where qemu-user sits inside an arm64 image's run root (a copy of the rootfs; the image itself has no qemu). */
const QEMU_IN_ROOT = '/.qemu/qemu-aarch64-static';

interface Built {
  image: ImageSizes;
  /** The folder chroot runs in: the rootfs itself (amd64), or a hard-linked copy of it with qemu added (arm64). */
  runRoot: string;
}

/** Assembles `arch`'s image; for arm64, a run root that starts the entrypoint through qemu-user. */
async function build(arch: Arch): Promise<Built> {
  const image = await assembleImage({ arch, entry: join(root, 'src', 'cli.ts') });
  if (arch === 'amd64') return { image, runRoot: image.rootfs };
  const runRoot = join(image.dir, 'run-root');
  execFileSync('cp', ['-al', image.rootfs, runRoot]);
  mkdirSync(join(runRoot, '.qemu'));
  copyFileSync(tool('qemu-aarch64-static'), join(runRoot, QEMU_IN_ROOT)); // a static binary: needs nothing of the rootfs
  return { image, runRoot };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `argv` (a program of the image and its arguments) in the image's run root as the image's user, with
 * `env` only. Asynchronous, so independent runs share the wait (each emulated start of the bundle takes seconds).
 */
function runInImage(arch: Arch, runRoot: string, env: Record<string, string>, argv: string[]): Promise<Run> {
  const [uid, gid] = stage.user.split(':');
  const chroot = [tool('chroot'), `--userspec=${uid}:${gid}`, runRoot, ...(arch === 'arm64' ? [QEMU_IN_ROOT] : []), ...argv];
  // Without root, a user namespace maps us to root so that chroot is allowed.
  const cmd = process.getuid?.() === 0 ? chroot : [tool('unshare'), '--user', '--map-root-user', ...chroot];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, ms: performance.now() - started }));
  });
}

/** Runs the image's entrypoint with `args`. */
const runImage = (arch: Arch, runRoot: string, env: Record<string, string>, args: string[] = []) =>
  runInImage(arch, runRoot, env, [...stage.entrypoint, ...args]);

/** Each architecture's image, assembled once for the file (the leader run reuses the arm64 one). */
const built = new Map<Arch, Promise<Built>>();
const assembled = (arch: Arch): Promise<Built> => {
  if (!built.has(arch)) built.set(arch, build(arch));
  return built.get(arch)!;
};
afterAll(async () => {
  for (const b of built.values()) rmSync((await b).image.dir, { recursive: true, force: true });
});

describe.each<Arch>(['amd64', 'arm64'])('the linux/%s image (final stage assembled as the Dockerfile declares it)', (arch) => {
  let b: Built | undefined;
  const get = () => b!;
  beforeAll(async () => {
    b = await assembled(arch);
  }, 600_000);

  it(`is at most ${MAX_COMPRESSED / MB} MB compressed, as an OCI image layout archive of the right architecture`, () => {
    const { image } = get();
    process.stdout.write(
      `image linux/${arch}: ${(image.compressedBytes / MB).toFixed(1)} MB compressed (${image.layers.map((l) => `${l.name} ${(l.gzipBytes / MB).toFixed(1)} MB`).join(', ')}; ${image.base.node}; ${image.base.packages.join(', ')})\n`,
    );
    expect(image.compressedBytes).toBeLessThanOrEqual(MAX_COMPRESSED);
    expect(image.archiveBytes).toBeGreaterThanOrEqual(image.compressedBytes);
    expect(statSync(image.archive).isFile()).toBe(true);
    expect(image.architecture).toBe(arch);
    expect(readElf(join(image.rootfs, stage.entrypoint[0]!)).arch).toBe(arch);
  });

  it('has no shell, no npm and no node_modules', () => {
    const { image } = get();
    for (const path of ['bin/sh', 'bin/bash', 'usr/bin/env']) expect(existsSync(join(image.rootfs, path)), path).toBe(false);
    const all: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (p: string) => all.push(p))(join(d, e.name));
    };
    walk(image.rootfs);
    expect(all.filter((p) => /\/(npm|npx|node_modules|qemu[^/]*)(\/|$)/.test(p))).toEqual([]);
  });

  it('runs its own Node 24, then the entrypoint: prints its version, and refuses a bad setting in one line with exit 2', async () => {
    const { runRoot } = get();
    const env = { BATON_LEASE_NAME: 'x', BATON_NAMESPACE: 'bots', BATON_TARGET_COMMAND: 'bot' };
    const [node, version, badSetting, noCluster] = await Promise.all([
      // The entrypoint's node alone: the binary and its libraries.
      runInImage(arch, runRoot, {}, [stage.entrypoint[0]!, '--version']),
      runImage(arch, runRoot, {}, ['--version']),
      runImage(arch, runRoot, { ...env, BATON_DRAIN: '5' }),
      runImage(arch, runRoot, env),
    ]);
    expect({ status: node.status, stderr: node.stderr }).toEqual({ status: 0, stderr: '' });
    expect(node.stdout).toMatch(/^v24\.\d+\.\d+\n$/);
    expect(version.stderr).toBe('');
    expect(version.stdout).toBe('baton 0.1.0\n');
    expect(badSetting.status).toBe(2);
    expect(badSetting.stderr).toMatch(/^baton: BATON_DRAIN="5" is not a duration: write it with a unit.*\n$/);
    expect(noCluster.status).toBe(2);
    expect(noCluster.stderr).toMatch(/^baton: not in a cluster \(KUBERNETES_SERVICE_HOST is unset\).*\n$/);
    process.stdout.write(
      `image linux/${arch}: node --version ${node.ms.toFixed(0)} ms, baton --version ${version.ms.toFixed(0)} ms, bad setting refused in ${badSetting.ms.toFixed(0)} ms (run at once)\n`,
    );
  });

  it('carries no @kubernetes/client-node: an exec kubeconfig gets the one line that names the fix', async () => {
    const { runRoot } = get();
    writeFileSync(
      join(runRoot, 'tmp', 'exec.kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: c',
        'clusters: [{name: k, cluster: {server: "https://127.0.0.1:1"}}]',
        'contexts: [{name: c, context: {cluster: k, user: u}}]',
        'users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: gke-gcloud-auth-plugin}}}]',
        '',
      ].join('\n'),
    );
    const run = await runImage(arch, runRoot, {
      BATON_LEASE_NAME: 'x',
      BATON_NAMESPACE: 'bots',
      BATON_TARGET_COMMAND: 'bot',
      KUBECONFIG: '/tmp/exec.kubeconfig',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`baton: ${clientNodeMissing('kubeconfig /tmp/exec.kubeconfig: user "u" uses an exec credential plugin')}\n`);
  });
});

describe('the linux/arm64 image under qemu-user leads a Lease on the test API server', () => {
  let pod: SimPod | undefined;
  let b: Built;
  beforeAll(async () => {
    b = await assembled('arm64');
  }, 600_000);
  afterAll(async () => {
    pod?.kill();
    await pod?.exited().catch(() => undefined);
    await pod?.forgetPod();
  });

  it('acquires a released Lease, starts its worker, says so on /leader, and releases on SIGTERM', async () => {
    const namespace = await freshNamespace(kube, 'image-arm64');
    const kc = adminKubeConfig(kube);
    const leases = kc.makeApiClient(k8s.CoordinationV1Api);
    // A Lease its previous holder released (as a handoff leaves it): the proof of a pause that lets a new
    // leader start its worker at once (S1), so the run is not one lease duration of waiting for a claim.
    const long = new k8s.V1MicroTime(Date.now() - 60_000);
    await leases.createNamespacedLease({
      namespace,
      body: { metadata: { name: 'arm64' }, spec: { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: long, renewTime: long, leaseTransitions: 3 } },
    });
    // qemu-user's -L: the image's loader and libraries are looked up in the rootfs first; the bundle is
    // named by its path on this machine (Node's module lookup does not go through -L); /proc (the worker's
    // signal handlers), loopback and the kubeconfig are the host's, as a pod's shared process namespace
    // and network would be. The host has no arm64 libraries to fall back on.
    expect(existsSync(`/lib/${'aarch64-linux-gnu'}/libc.so.6`), 'this machine has arm64 libraries: the -L run would not prove the image carries its own').toBe(
      false,
    );
    const [nodePath, ...nodeArgs] = stage.entrypoint.slice(0, -1);
    expect(stage.entrypoint.at(-1)).toBe(stage.bundlePath);
    pod = new SimPod({
      name: 'image-arm64',
      namespace,
      leaseName: 'arm64',
      kubeconfig: kube.adminKubeconfig,
      kc,
      dir: join(b.image.dir, 'pod'),
      sidecarCommand: [tool('qemu-aarch64-static'), '-L', b.image.rootfs, join(b.image.rootfs, nodePath!), ...nodeArgs, join(b.image.rootfs, stage.bundlePath)],
      preStopMs: 200,
      graceMs: 60_000,
    });
    const started = performance.now();
    await pod.start();
    await waitFor('the arm64 sidecar to lead', async () => (await pod!.leader())?.isLeader === true, 90_000);
    const leadMs = performance.now() - started;
    const status = await pod.leader();
    expect(status).toMatchObject({ isLeader: true, holder: 'image-arm64', epoch: 4 });
    const lease = await leases.readNamespacedLease({ name: 'arm64', namespace });
    expect(lease.spec).toMatchObject({ holderIdentity: 'image-arm64', leaseTransitions: 4 });
    await waitFor('its worker to poll', () => pod!.polling(), 30_000);

    const terminating = performance.now();
    expect(await pod.terminate()).toBe(0);
    const exitMs = performance.now() - terminating;
    const after = await leases.readNamespacedLease({ name: 'arm64', namespace });
    expect(after.spec).toMatchObject({ holderIdentity: '', leaseTransitions: 4 });
    // The worker was started once and paused before the sidecar released the Lease (its own log says when).
    const worker = readWorkerLog(pod.workerLog);
    expect(worker.filter((l) => l.event === 'polling-start' || l.event === 'polling-stop').map((l) => l.event)).toEqual(['polling-start', 'polling-stop']);
    const sidecarLines = readFileSync(pod.sidecarLog, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event?: string; change?: string; time: string });
    const released = sidecarLines.find((l) => l.event === 'leadership' && l.change === 'released');
    expect(released, 'the sidecar logs its release').toBeDefined();
    expect(worker.find((l) => l.event === 'polling-stop')!.t).toBeLessThanOrEqual(Date.parse(released!.time));
    process.stdout.write(
      `image linux/arm64 under qemu: leader ${(leadMs / 1000).toFixed(1)} s after start, released and exited ${(exitMs / 1000).toFixed(1)} s after SIGTERM\n`,
    );
  }, 180_000);
});
