// The bundle (scripts/bundle.ts) loads at start-up only the Node built-ins baton uses, and the dependency
// features whose require() it defers (LAZY_REQUIRES) still work when something uses them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundle, ROOT } from '../../../scripts/bundle.ts';
import { SIDECAR_NODE_FLAGS } from '../../harness/sim-pod.ts';

const dir = mkdtempSync(join(tmpdir(), 'baton-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `file` with the image's flags; returns its output and the built-in modules Node loaded. */
function run(file: string, args: string[]): { stdout: string; stderr: string; status: number | null; builtins: string[] } {
  const list = join(dir, 'modules.json');
  // CommonJS and process.getBuiltinModule: the probe itself must not load what it looks for.
  const probe = join(dir, 'probe.cjs');
  writeFileSync(
    probe,
    `process.on('exit', () => process.getBuiltinModule('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(process.moduleLoadList)));\n`,
  );
  const r = spawnSync(process.execPath, [...SIDECAR_NODE_FLAGS, '--require', probe, file, ...args], { encoding: 'utf8', timeout: 30_000 });
  const builtins = (JSON.parse(readFileSync(list, 'utf8')) as string[])
    .filter((m) => m.startsWith('NativeModule '))
    .map((m) => m.slice('NativeModule '.length));
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, builtins };
}

describe('the bundle', () => {
  it('loads none of the built-ins baton does not use (an ES import of node:http alone loads undici, http2, zlib)', async () => {
    const file = join(dir, 'baton.mjs');
    await bundle(file, join(ROOT, 'src', 'cli.ts'));
    const { stdout, status, builtins } = run(file, ['--version']);
    expect(status).toBe(0);
    expect(stdout).toBe('baton 0.1.0\n');
    // What it does need is there, so the list is the real one.
    expect(builtins).toEqual(expect.arrayContaining(['http', 'https', 'tls', 'fs']));
    const unused = ['http2', 'zlib', 'internal/deps/undici/undici', 'cluster', 'child_process', 'dgram', 'readline', 'internal/repl/history'];
    expect(builtins.filter((m) => unused.includes(m))).toEqual([]);
  }, 60_000);

  it('still runs the deferred features when they are used: schemas, plugin versions, Pushgateway, AggregatorRegistry, exemplars, pino.transport', async () => {
    const file = join(dir, 'lazy.mjs');
    await bundle(file, join(ROOT, 'test', 'fixtures', 'bundle-lazy.ts'));
    const { stdout, stderr, status } = run(file, []);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const seen = JSON.parse(stdout) as Record<string, unknown>;
    expect(seen).toEqual({
      bad: 400,
      good: [200, '{"n":3}'],
      pushgateway: 'function',
      aggregated: '\n',
      transport: 'function',
      tooOld: seen.tooOld,
      cpu: true,
    });
    expect(seen.tooOld).toMatch(/fastify-plugin: wants-4\.x - expected '4\.x' fastify version/);
  }, 60_000);
});
