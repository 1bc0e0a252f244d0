import { readFileSync } from 'node:fs';

/** Set by scripts/bundle.ts in the single-file bundle, which has no package.json next to it. */
declare const BATON_BUNDLED_VERSION: string | undefined;

/** baton's version, from package.json (one place to bump). */
export const VERSION: string = (() => {
  if (typeof BATON_BUNDLED_VERSION === 'string') return BATON_BUNDLED_VERSION;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();
