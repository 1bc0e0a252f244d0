// Bundles the compiled sidecar (dist/cli.js, from `npm run build`) and its production dependencies into
// one file, build/baton.mjs: what the image runs. No node_modules in the image, no npm, no YAML parser
// evaluated in a cluster (js-yaml is bundled but loaded only for a kubeconfig).
//   node scripts/bundle.ts            writes build/baton.mjs (and build/meta.json, esbuild's metafile)
// @kubernetes/client-node stays outside: it is an optional dependency for exec/auth-provider
// kubeconfigs; without it such a kubeconfig gets a one-line error that names the fix.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = join(ROOT, 'build', 'baton.mjs');
/** Packages the bundle must never contain (each is loaded lazily, or not at all, at run time). */
export const EXTERNAL = ['@kubernetes/client-node'];

/**
 * Writes the bundle of `entry` (dist/cli.js, as the Dockerfile does; tests pass src/cli.ts, the same
 * modules, to skip the compile); returns its size in bytes and the npm packages it contains. */
export async function bundle(outfile = BUNDLE, entry = join(ROOT, 'dist', 'cli.js')): Promise<{ bytes: number; packages: string[] }> {
  mkdirSync(dirname(outfile), { recursive: true });
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    external: EXTERNAL,
    // src/version.ts reads package.json, which the image does not carry.
    define: { BATON_BUNDLED_VERSION: JSON.stringify(version) },
    // The CommonJS dependencies (pino, fastify, prom-client) call require() for Node's built-ins.
    banner: { js: "import { createRequire as __batonRequire } from 'node:module'; const require = __batonRequire(import.meta.url);" },
    // Whitespace and syntax only: stack traces keep their function names.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  writeFileSync(join(dirname(outfile), 'meta.json'), JSON.stringify(result.metafile));
  const output = Object.values(result.metafile.outputs)[0]!;
  const packages = new Set<string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) packages.add(m[1]!);
  }
  return { bytes: output.bytes, packages: [...packages].sort() };
}

if (import.meta.main) {
  const { bytes, packages } = await bundle();
  process.stdout.write(`build/baton.mjs: ${(bytes / 1024).toFixed(0)} KiB, ${packages.length} packages: ${packages.join(', ')}\n`);
}
