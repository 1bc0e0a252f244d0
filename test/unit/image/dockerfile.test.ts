import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SIDECAR_NODE_FLAGS } from '../../harness/sim-pod.ts';

const dockerfile = readFileSync(new URL('../../../Dockerfile', import.meta.url), 'utf8');
const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

describe('Dockerfile', () => {
  it('runs the bundle with the Node flags the benchmark measures, and the benchmark runs the same bundle', () => {
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(entrypoint!)).toEqual(['/nodejs/bin/node', ...SIDECAR_NODE_FLAGS, '/app/baton.mjs']);
    expect(finalStage).toMatch(/^COPY --from=build \/src\/build\/baton\.mjs \/app\/baton\.mjs$/m);
    const bench = readFileSync(new URL('../../../bench/handoff.ts', import.meta.url), 'utf8');
    expect(bench).toMatch(/cli: BUNDLE,/);
    expect(bench).toMatch(/nodeArgs: SIDECAR_NODE_FLAGS/);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.bench).toMatch(/npm run bundle && node bench\/handoff\.ts/);
  });

  it('takes both base images as build arguments pinned by digest, with a note on how to bump them', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24[^@\s]*@sha256:[0-9a-f]{64}$/m);
    expect(dockerfile).toMatch(/^ARG BASE_IMAGE=\S+@sha256:[0-9a-f]{64}$/m);
    expect(dockerfile).toMatch(/To bump one/);
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
  });

  it('builds linux/amd64 and linux/arm64 with nothing emulated: the bundle once on the build platform, the final stage from a multi-arch index', () => {
    // The build stage (npm ci, tsc, esbuild: plain JS out) runs on the builder's own platform, once for all targets.
    expect(dockerfile).toMatch(/^FROM --platform=\$BUILDPLATFORM \$\{NODE_IMAGE\} AS build$/m);
    // The final stage takes the target platform's image from the base's index, and runs nothing (tested below).
    expect(dockerfile).toMatch(/^FROM \$\{BASE_IMAGE\}$/m);
    // The digests name image indexes covering both platforms, and the file says how to check that.
    expect(dockerfile).toMatch(/linux\/amd64 and linux\/arm64/);
    expect(dockerfile).toMatch(/imagetools inspect/);
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toMatch(/docker buildx build --platform linux\/amd64,linux\/arm64 /);
  });

  it('runs as a non-root user; the final stage runs nothing (no shell) and copies only the bundle', () => {
    expect(finalStage).toMatch(/^USER 1000:1000$/m);
    expect(finalStage).not.toMatch(/^RUN /m);
    expect(finalStage.match(/^COPY /gm)).toHaveLength(1);
  });
});
