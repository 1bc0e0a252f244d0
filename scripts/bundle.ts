// Bundles the compiled sidecar (dist/cli.js, from `npm run build`) and its production dependencies into
// one file, build/baton.mjs: what the image runs. No node_modules in the image, no npm, no YAML parser
// evaluated in a cluster (js-yaml is bundled but loaded only for a kubeconfig).
//   node scripts/bundle.ts            writes build/baton.mjs (and build/meta.json, esbuild's metafile)
// @kubernetes/client-node stays outside: it is an optional dependency for exec/auth-provider
// kubeconfigs; without it such a kubeconfig gets a one-line error that names the fix.
// Two plugins keep start-up light (idle RSS, `npm run bench:rss`): Node built-ins are required rather
// than imported, and the top-level requires of dependency features baton never uses are deferred.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = join(ROOT, 'build', 'baton.mjs');
/** Packages the bundle must never contain (each is loaded lazily, or not at all, at run time). */
export const EXTERNAL = ['@kubernetes/client-node'];

/**
 * Top-level `require()`s of the dependencies that baton never uses, made lazy (a getter, or a require at
 * the first call): the code stays in the bundle and works as before when used, but is not evaluated at
 * start-up, nor are the Node built-ins it pulls in (`npm run bench:rss` measures the idle RSS this saves).
 * esbuild wraps every CommonJS module in a function run by its first `require()`, so a require that
 * moved into a getter or a function runs only when that is reached. Each `from` must be found exactly
 * once: a dependency update that changes one fails the bundle instead of silently keeping the cost.
 */
/** `const name = <module's exports, required at the first property read>`, for modules used as `name.member`. */
function lazyNamespace(name: string, module: string): string {
  return `const ${name} = new Proxy({}, { get: (_, key) => require(${JSON.stringify(module)})[key] })`;
}

export const LAZY_REQUIRES: ReadonlyArray<{ file: string; from: string; to: string; why: string }> = [
  {
    file: 'node_modules/prom-client/index.js',
    from: "exports.Pushgateway = require('./lib/pushgateway');",
    to: "Object.defineProperty(exports, 'Pushgateway', { enumerable: true, get: () => require('./lib/pushgateway') });",
    why: 'baton is scraped, it never pushes (node:https, node:zlib)',
  },
  {
    file: 'node_modules/prom-client/index.js',
    from: "exports.AggregatorRegistry = require('./lib/cluster');",
    to: "Object.defineProperty(exports, 'AggregatorRegistry', { enumerable: true, get: () => require('./lib/cluster') });",
    why: 'one process, no cluster workers to aggregate (node:cluster, node:child_process, node:dgram)',
  },
  {
    file: 'node_modules/pino/pino.js',
    from: "module.exports.transport = require('./lib/transport')",
    to: "Object.defineProperty(module.exports, 'transport', { enumerable: true, get: () => require('./lib/transport') })",
    why: 'logs go to stdout, no transport worker thread (thread-stream)',
  },
  {
    file: 'node_modules/pino/lib/tools.js',
    from: "const transport = require('./transport')",
    to: "const transport = (...args) => require('./transport')(...args)",
    why: 'as above: only a `transport` option calls it',
  },
  {
    file: 'node_modules/fastify/lib/server.js',
    from: "const http2 = require('node:http2')",
    to: "const http2 = { createServer: (...a) => require('node:http2').createServer(...a), createSecureServer: (...a) => require('node:http2').createSecureServer(...a) }",
    why: 'plain HTTP/1.1 servers; node:http2 only for the `http2` option',
  },
  {
    file: 'node_modules/fastify/lib/plugin-utils.js',
    from: "const semver = require('semver')",
    to: lazyNamespace('semver', 'semver'),
    why: 'only a plugin that declares the fastify versions it supports calls it (semver compiles ~40 RegExps on load)',
  },
  {
    file: 'node_modules/prom-client/lib/metrics/processCpuTotal.js',
    from: "const OtelApi = require('@opentelemetry/api');",
    to: `${lazyNamespace('OtelApi', '@opentelemetry/api')};`,
    why: 'only exemplars (enableExemplars) read the active span',
  },
  {
    file: 'node_modules/fastify/lib/schema-controller.js',
    from: "    const ValidatorSelector = require('@fastify/ajv-compiler')\n    compilersFactory.buildValidator = ValidatorSelector()",
    to: "    let built\n    compilersFactory.buildValidator = (...a) => (built ??= require('@fastify/ajv-compiler')())(...a)",
    why: 'no route declares a schema: ajv is built by the first one that does',
  },
  {
    file: 'node_modules/fastify/lib/schema-controller.js',
    from: "    const SerializerSelector = require('@fastify/fast-json-stringify-compiler')\n    compilersFactory.buildSerializer = SerializerSelector()",
    to: "    let built\n    compilersFactory.buildSerializer = (...a) => (built ??= require('@fastify/fast-json-stringify-compiler')())(...a)",
    why: 'as above, for response schemas (fast-json-stringify)',
  },
];

/**
 * Node built-ins that baton's own (ESM) modules `import`, loaded with `require()` instead. Node builds an
 * ES module facade for a built-in by reading every export, and that runs its lazy getters: `import ... from
 * 'node:http'` alone loads undici (for `http.WebSocket`), and with it node:http2, node:zlib, node:tls,
 * node:crypto, node:worker_threads, web streams and more, which `require('node:http')` does not
 * (`npm run bench:rss`). The named imports become property reads of the same module object.
 */
function builtinsByRequire(): Plugin {
  return {
    name: 'baton-builtins-by-require',
    setup(b) {
      b.onResolve({ filter: /^node:/ }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'baton-builtin' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'baton-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
    },
  };
}

/** The esbuild plugin that applies {@link LAZY_REQUIRES}; fails the build if a file is not bundled at all. */
function lazyRequires(): Plugin {
  const files = new Set(LAZY_REQUIRES.map((r) => r.file));
  return {
    name: 'baton-lazy-requires',
    setup(b) {
      const seen = new Set<string>();
      b.onLoad({ filter: /\.js$/ }, (args) => {
        const file = relative(ROOT, args.path);
        if (!files.has(file)) return undefined;
        seen.add(file);
        let text = readFileSync(args.path, 'utf8');
        for (const r of LAZY_REQUIRES.filter((x) => x.file === file)) {
          const count = text.split(r.from).length - 1;
          if (count !== 1)
            throw new Error(`scripts/bundle.ts: expected ${JSON.stringify(r.from)} once in ${file}, found it ${count} times; update LAZY_REQUIRES`);
          text = text.replace(r.from, () => r.to);
        }
        return { contents: text, loader: 'js' };
      });
      b.onEnd((result) => {
        const missing = [...files].filter((f) => !seen.has(f));
        if (result.errors.length === 0 && missing.length > 0)
          throw new Error(`scripts/bundle.ts: LAZY_REQUIRES names files the bundle no longer contains: ${missing.join(', ')}`);
      });
    },
  };
}

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
    plugins: [builtinsByRequire(), lazyRequires()],
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
