// The root package as a tarball: `npm pack`, installed into an empty project (production dependencies
// only), every export imported and the `baton` bin run. The root package is private (never published to
// npm, README: What is published where); this keeps its `files`, `bin` and dependencies honest for anyone
// who installs it from a checkout or a git URL. @kubernetes/client-node is an
// optional peer dependency: absent here, and a kubeconfig that needs it gets one line naming the fix.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { clientNodeMissing } from '../../../src/kube/connection.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; exports: Record<string, string> };
const node = join(root, 'node_modules', '.bin', 'node');
let project = '';

describe('npm pack, installed into an empty project', () => {
  beforeAll(() => {
    const packDir = mkdtempSync(join(tmpdir(), 'baton-pack-'));
    // prepack builds dist/ first.
    execFileSync('npm', ['pack', '--pack-destination', packDir], { cwd: root, stdio: 'pipe' });
    const tgz = readdirSync(packDir).find((f) => f.endsWith('.tgz'))!;
    project = mkdtempSync(join(tmpdir(), 'baton-user-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(packDir, tgz)], { cwd: project, stdio: 'pipe' });
  }, 600_000);

  it('imports every export', () => {
    expect(Object.keys(pkg.exports).length).toBeGreaterThan(0);
    for (const key of Object.keys(pkg.exports)) {
      const specifier = key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`;
      const attributes = pkg.exports[key]!.endsWith('.json') ? ", { with: { type: 'json' } }" : '';
      const run = spawnSync(
        node,
        ['--input-type=module', '-e', `const m = await import(${JSON.stringify(specifier)}${attributes}); console.log(Object.keys(m).length)`],
        { cwd: project, encoding: 'utf8' },
      );
      expect(run.stderr, specifier).toBe('');
      expect(run.status, specifier).toBe(0);
      expect(Number(run.stdout.trim()), `${specifier} exports something`).toBeGreaterThan(0);
    }
  });

  it('runs the baton bin', () => {
    const run = spawnSync(node, [join(project, 'node_modules', '.bin', 'baton'), '--version'], { cwd: project, encoding: 'utf8' });
    expect(run.stdout.trim()).toBe(`baton ${pkg.version}`);
  });

  it('leaves @kubernetes/client-node out; an exec kubeconfig says in one line how to add it', () => {
    expect(existsSync(join(project, 'node_modules', '@kubernetes', 'client-node'))).toBe(false);
    const kubeconfig = join(project, 'exec.kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: c',
        'clusters: [{name: k, cluster: {server: "https://127.0.0.1:1"}}]',
        'contexts: [{name: c, context: {cluster: k, user: u, namespace: bots}}]',
        'users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}}}]',
        '',
      ].join('\n'),
    );
    const run = spawnSync(node, [join(project, 'node_modules', '.bin', 'baton')], {
      cwd: project,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, BATON_LEASE_NAME: 'x', BATON_TARGET_COMMAND: 'x', KUBECONFIG: kubeconfig },
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`baton: ${clientNodeMissing(`kubeconfig ${kubeconfig}: user "u" uses an exec credential plugin`)}\n`);
  });
});
