// The image's final stage, assembled without a container engine (scripts/image-rootfs.ts): the official
// Node 24 linux-x64 binary with the libraries it loads, and the bundle, at the Dockerfile's paths. Its
// compressed size is the figure the README states; it runs (chroot) with no shell and no npm.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleImage, MB, readFinalStage, type ImageSizes } from '../../scripts/image-rootfs.ts';
import { clientNodeMissing } from '../../src/kube/connection.ts';

const root = join(import.meta.dirname, '..', '..');
const stage = readFinalStage();
let image: ImageSizes;

/** A system tool by absolute path: the image's process gets `env` only, without the host's PATH. */
const tool = (name: string) => {
  const path = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
  if (!path) throw new Error(`${name} is not installed (coreutils/util-linux): the test runs the image's rootfs with it`);
  return path;
};

/** Runs the image's entrypoint in its rootfs as the image's user, with `env` only. */
function runImage(env: Record<string, string>, args: string[] = []) {
  const [uid, gid] = stage.user.split(':');
  const chroot = [tool('chroot'), `--userspec=${uid}:${gid}`, image.rootfs, ...stage.entrypoint, ...args];
  // Without root, a user namespace maps us to root so that chroot is allowed.
  const cmd = process.getuid?.() === 0 ? chroot : [tool('unshare'), '--user', '--map-root-user', ...chroot];
  return spawnSync(cmd[0]!, cmd.slice(1), { env, encoding: 'utf8', timeout: 30_000 });
}

describe('the image (final stage assembled as the Dockerfile declares it)', () => {
  beforeAll(async () => {
    image = await assembleImage(join(root, 'src', 'cli.ts'));
  }, 300_000);
  afterAll(() => rmSync(image.dir, { recursive: true, force: true }));

  it('is at most 60 MB compressed, as an OCI image layout archive', () => {
    process.stdout.write(`image: ${(image.compressedBytes / MB).toFixed(1)} MB compressed (${image.layers.map((l) => `${l.name} ${(l.gzipBytes / MB).toFixed(1)} MB`).join(', ')})\n`);
    expect(image.compressedBytes).toBeLessThanOrEqual(60 * MB);
    expect(image.archiveBytes).toBeGreaterThanOrEqual(image.compressedBytes);
    expect(statSync(image.archive).isFile()).toBe(true);
  });

  it('has no shell, no npm and no node_modules', () => {
    for (const path of ['bin/sh', 'bin/bash', 'usr/bin/env']) expect(existsSync(join(image.rootfs, path)), path).toBe(false);
    const all: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (p: string) => all.push(p))(join(d, e.name));
    };
    walk(image.rootfs);
    expect(all.filter((p) => /\/(npm|npx|node_modules)(\/|$)/.test(p))).toEqual([]);
  });

  it('starts from the entrypoint: prints its version, and refuses a bad setting in one line', () => {
    const version = runImage({}, ['--version']);
    expect(version.stderr).toBe('');
    expect(version.stdout).toBe('baton 0.1.0\n');
    const noCluster = runImage({ BATON_LEASE_NAME: 'x', BATON_NAMESPACE: 'bots', BATON_TARGET_COMMAND: 'bot' });
    expect(noCluster.status).toBe(2);
    expect(noCluster.stderr).toMatch(/^baton: not in a cluster \(KUBERNETES_SERVICE_HOST is unset\).*\n$/);
  });

  it('carries no @kubernetes/client-node: an exec kubeconfig gets the one line that names the fix', () => {
    writeFileSync(join(image.rootfs, 'tmp', 'exec.kubeconfig'), [
      'apiVersion: v1', 'kind: Config', 'current-context: c',
      'clusters: [{name: k, cluster: {server: "https://127.0.0.1:1"}}]',
      'contexts: [{name: c, context: {cluster: k, user: u}}]',
      'users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: gke-gcloud-auth-plugin}}}]', '',
    ].join('\n'));
    const run = runImage({ BATON_LEASE_NAME: 'x', BATON_NAMESPACE: 'bots', BATON_TARGET_COMMAND: 'bot', KUBECONFIG: '/tmp/exec.kubeconfig' });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`baton: ${clientNodeMissing('kubeconfig /tmp/exec.kubeconfig: user "u" uses an exec credential plugin')}\n`);
  });
});
