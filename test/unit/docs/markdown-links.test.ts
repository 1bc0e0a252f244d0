// Every relative link in the repository's Markdown files resolves to a file or directory inside the
// repository (a link that climbs out of it works on one machine only), and a #fragment into a Markdown
// file names one of its headings (GitHub's anchor rules).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..', '..');
const SKIP = new Set(['node_modules', '.git', 'dist', 'build', 'coverage', '.cache', 'results']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return SKIP.has(e.name) ? [] : markdownFiles(join(dir, e.name));
    return e.name.endsWith('.md') ? [join(dir, e.name)] : [];
  });
}

/** Link targets outside code spans and fenced code blocks: [text](target) and [ref]: target. */
export function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
  const inline = [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const refs = [...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]!);
  return [...inline, ...refs];
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, duplicates numbered. */
export function anchors(markdown: string): Set<string> {
  const prose = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const isExternal = (t: string) => /^[a-z][a-z0-9+.-]*:/i.test(t);

/** Markdown files named in code spans (`../x.md`, `docs/y.md`): they are references too. */
export function codeSpanMarkdownPaths(markdown: string): string[] {
  const prose = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  return [...prose.matchAll(/`([\w./-]+\.md)`/g)].map((m) => m[1]!);
}

describe('Markdown links', () => {
  const files = markdownFiles(root);

  it('finds the Markdown files, and parses links and anchors as GitHub does', () => {
    expect(files.map((f) => relative(root, f))).toContain('README.md');
    expect(linkTargets('[a](b.md) `[c](d.md)` [e](f.md "t")\n```\n[g](h.md)\n```\n[r]: ../x.md')).toEqual(['b.md', 'f.md', '../x.md']);
    expect([...anchors('# Add baton to your bot\n## `BATON_LISTEN` (loopback)\n## Tests\n## Tests')]).toEqual([
      'add-baton-to-your-bot',
      'baton_listen-loopback',
      'tests',
      'tests-1',
    ]);
  });

  it('every relative link resolves inside the repository, and every #fragment to a heading', () => {
    const broken: string[] = [];
    for (const file of files) {
      for (const target of linkTargets(readFileSync(file, 'utf8'))) {
        if (isExternal(target)) continue;
        const [path, fragment] = target.split('#') as [string, string | undefined];
        const where = `${relative(root, file)}: ${target}`;
        const resolved = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
        if (resolved !== root && !resolved.startsWith(root + sep)) {
          broken.push(`${where} (outside the repository)`);
          continue;
        }
        if (!existsSync(resolved)) {
          broken.push(`${where} (no such file)`);
          continue;
        }
        if (fragment && resolved.endsWith('.md') && statSync(resolved).isFile() && !anchors(readFileSync(resolved, 'utf8')).has(fragment)) {
          broken.push(`${where} (no heading #${fragment})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('every Markdown file named in a code span exists inside the repository (relative to the file or to the root)', () => {
    const broken: string[] = [];
    for (const file of files) {
      for (const path of codeSpanMarkdownPaths(readFileSync(file, 'utf8'))) {
        const found = [resolve(dirname(file), path), resolve(root, path)].some((p) => p.startsWith(root + sep) && existsSync(p));
        if (!found) broken.push(`${relative(root, file)}: \`${path}\``);
      }
    }
    expect(broken).toEqual([]);
  });
});
