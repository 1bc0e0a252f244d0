// Generates the values table of charts/baton/README.md from the `# --` comments in values.yaml (the
// helm-docs convention: a comment starting with `# --` above a key documents it; following `#` lines
// continue it). The table sits between the <!-- values:start --> and <!-- values:end --> markers.
//   node scripts/values-doc.ts           rewrites the table
//   node scripts/values-doc.ts --check   exits 1 when the README's table is not current
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const VALUES = join(ROOT, 'charts', 'baton', 'values.yaml');
export const README = join(ROOT, 'charts', 'baton', 'README.md');
const START = '<!-- values:start -->';
const END = '<!-- values:end -->';

export interface ValueDoc {
  key: string;
  type: string;
  default: string;
  description: string;
}

/** The documented keys of a values.yaml text, in file order. */
export function documentedValues(text: string): ValueDoc[] {
  const values = load(text) as Record<string, unknown>;
  const docs: ValueDoc[] = [];
  const path: Array<{ indent: number; key: string }> = [];
  let pending: string[] | undefined;
  for (const line of text.split('\n')) {
    const comment = /^\s*# ?(.*)$/.exec(line);
    if (comment) {
      const body = comment[1]!;
      if (body.startsWith('-- ')) pending = [body.slice(3).trim()];
      else if (pending) pending.push(body.trim());
      continue;
    }
    const entry = /^(\s*)([A-Za-z0-9_]+):(.*)$/.exec(line);
    if (!entry) {
      if (line.trim() === '') pending = undefined;
      continue;
    }
    const indent = entry[1]!.length;
    while (path.length > 0 && path.at(-1)!.indent >= indent) path.pop();
    path.push({ indent, key: entry[2]! });
    if (pending) {
      const key = path.map((p) => p.key).join('.');
      const value = path.reduce<unknown>((v, p) => (v as Record<string, unknown> | undefined)?.[p.key], values);
      docs.push({ key, type: typeOf(value), default: JSON.stringify(value ?? null), description: pending.join(' ').trim() });
      pending = undefined;
    }
  }
  return docs;
}

function typeOf(v: unknown): string {
  if (v === null || v === undefined) return 'int or null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'object';
  return typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : typeof v;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/</g, '&lt;');

/** The Markdown table. */
export function valuesTable(docs: ValueDoc[]): string {
  const rows = docs.map((d) => `| \`${d.key}\` | ${d.type} | \`${cell(d.default)}\` | ${cell(d.description)} |`);
  return ['| Key | Type | Default | Description |', '|-----|------|---------|-------------|', ...rows].join('\n');
}

/** The README with its table replaced by the current one. */
export function withTable(readme: string, table: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${README}: no ${START} ... ${END} markers`);
  return `${readme.slice(0, a + START.length)}\n${table}\n${readme.slice(b)}`;
}

if (import.meta.main) {
  const readme = readFileSync(README, 'utf8');
  const next = withTable(readme, valuesTable(documentedValues(readFileSync(VALUES, 'utf8'))));
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      process.stderr.write('charts/baton/README.md: the values table is not current: run node scripts/values-doc.ts\n');
      process.exit(1);
    }
  } else {
    writeFileSync(README, next);
  }
}
