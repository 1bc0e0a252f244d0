// The release job's notes come from CHANGELOG.md (scripts/changelog.ts): the real file must have a section
// for the version being released, and the extraction must take exactly that section.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changelogSection } from '../../../scripts/changelog.ts';
import { REPO_ROOT, sourceVersion } from '../../../scripts/version.ts';

const SAMPLE = [
  '# Changelog',
  '',
  'Intro text.',
  '',
  '## [0.3.0-rc.1] - 2027-02-01',
  '',
  '- pre-release notes',
  '',
  '## v0.2.0 (2027-01-10)',
  '',
  '- second',
  '- with a `## ` inside a line',
  '',
  '## 0.1.0',
  '',
  '- first',
  '',
  '## 0.0.9',
  '',
].join('\n');

describe('release notes from CHANGELOG.md', () => {
  it('the real CHANGELOG.md has a non-empty section for the version in package.json, and only that section', () => {
    const text = readFileSync(join(REPO_ROOT, 'CHANGELOG.md'), 'utf8');
    const version = sourceVersion();
    const section = changelogSection(text, version);
    expect(section, `CHANGELOG.md: a "## ${version}" section`).toBeDefined();
    expect(section).not.toMatch(/^## /m);
    // The section is the text between its heading and the next: it appears in the file as is.
    expect(text).toContain(`## ${version}\n\n${section}\n`);
  });

  it('takes one section, whatever the heading style, and stops at the next', () => {
    expect(changelogSection(SAMPLE, '0.2.0')).toBe('- second\n- with a `## ` inside a line');
    expect(changelogSection(SAMPLE, '0.3.0-rc.1')).toBe('- pre-release notes');
    expect(changelogSection(SAMPLE, '0.1.0')).toBe('- first');
  });

  it('finds no section for a version that has none, a prefix of one, or an empty one', () => {
    expect(changelogSection(SAMPLE, '0.4.0')).toBeUndefined();
    expect(changelogSection(SAMPLE, '0.3.0')).toBeUndefined();
    expect(changelogSection(SAMPLE, '0.1')).toBeUndefined();
    expect(changelogSection(SAMPLE, '0.0.9')).toBeUndefined();
  });
});
