// The release notes of one version: its section of CHANGELOG.md, from its `## <version>` heading (also
// `## [<version>]` or `## v<version>`, with anything after the version, e.g. a date) to the next `## `
// heading. The release workflow publishes it as the GitHub release's body; a missing or empty section
// fails the release before anything is pushed.
//   node scripts/changelog.ts 0.2.0 > notes.md
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './version.ts';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The body of `version`'s section (trimmed, without its heading), or undefined when there is none or it is empty. */
export function changelogSection(markdown: string, version: string): string | undefined {
  const heading = new RegExp(`^## \\[?v?${escape(version)}\\]?(?=\\s|$).*$`, 'm');
  const start = heading.exec(markdown);
  if (!start) return undefined;
  const rest = markdown.slice(start.index + start[0].length);
  const next = /^## /m.exec(rest);
  const body = (next ? rest.slice(0, next.index) : rest).trim();
  return body === '' ? undefined : body;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const version = process.argv[2]?.replace(/^v/, '');
  if (!version) {
    console.error('usage: node scripts/changelog.ts <version>');
    process.exit(2);
  }
  const section = changelogSection(readFileSync(join(REPO_ROOT, 'CHANGELOG.md'), 'utf8'), version);
  if (!section) {
    console.error(`changelog: CHANGELOG.md has no section "## ${version}" (or it is empty): write it, commit, and tag again`);
    process.exit(1);
  }
  process.stdout.write(section + '\n');
}
