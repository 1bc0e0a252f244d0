// The chart README's values table is generated from values.yaml's `# --` comments (scripts/values-doc.ts):
// it must be current, and every value must be documented (by its own comment or its parent's).
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { README, VALUES, documentedValues, valuesTable, withTable } from '../../../scripts/values-doc.ts';

const text = readFileSync(VALUES, 'utf8');

function leafKeys(v: unknown, prefix = ''): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).length === 0) return [prefix];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => leafKeys(x, prefix ? `${prefix}.${k}` : k));
}

describe('charts/baton/README.md values table', () => {
  it('is what scripts/values-doc.ts generates from values.yaml (fix: node scripts/values-doc.ts)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(withTable(readme, valuesTable(documentedValues(text)))).toBe(readme);
  });

  it("documents every value, by its own `# --` comment or its parent's", () => {
    const documented = documentedValues(text).map((d) => d.key);
    const undocumented = leafKeys(load(text)).filter((k) => !documented.some((d) => k === d || k.startsWith(`${d}.`)));
    expect(undocumented).toEqual([]);
  });

  it("reads a key's comment, type and default", () => {
    const docs = documentedValues('a:\n  # -- first line\n  # second line\n  b: 3\n  c: x\n# -- list\nd: []\n');
    expect(docs).toEqual([
      { key: 'a.b', type: 'int', default: '3', description: 'first line second line' },
      { key: 'd', type: 'list', default: '[]', description: 'list' },
    ]);
  });
});
