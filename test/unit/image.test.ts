import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SIDECAR_NODE_FLAGS } from '../harness/sim-pod.ts';

describe('Dockerfile', () => {
  it('runs the sidecar with the Node flags the benchmark measures', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(entrypoint!)).toEqual(['node', ...SIDECAR_NODE_FLAGS, 'dist/cli.js']);
  });

  it('runs as a non-root user and ships no dev dependencies', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
  });
});
