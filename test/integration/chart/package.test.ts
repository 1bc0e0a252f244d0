// The chart as the release publishes it (.github/workflows/release.yml): `helm package` with --version and
// --app-version from the tag, then `helm lint --strict` of the packaged .tgz, not of the folder. The sidecar's
// image tag follows the appVersion (scripts/version.ts), and `npm run version:set` keeps the example chart's lock valid
// for helm.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as yaml from 'js-yaml';
import { CHART_BASE_VALUES, CHART_DIR, containersOf, ensureHelm, helm, parseObjects } from '../../kube/helm.ts';
import { PLACES, REPO_ROOT, setVersion, sourceVersion } from '../../../scripts/version.ts';

let helmBin: string;

beforeAll(async () => {
  helmBin = await ensureHelm();
}, 900_000);

/** `helm package` as the release job runs it; returns the .tgz. */
async function packageChart(chartDir: string, version: string): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'baton-chart-package-'));
  const r = await helm(helmBin, ['package', chartDir, '--version', version, '--app-version', version, '--destination', out]);
  expect(r.code, r.stderr).toBe(0);
  expect(readdirSync(out)).toEqual([`baton-${version}.tgz`]);
  return join(out, `baton-${version}.tgz`);
}

type Deployment = { kind: string; spec: { template: { spec: { containers: { name: string; image: string; env?: { name: string }[] }[] } } } };

/** The sidecar image the packaged chart renders with its defaults. */
async function sidecarImage(tgz: string): Promise<string> {
  const r = await helm(helmBin, ['template', 'my-bot', tgz, '--kube-version', '1.37.2', '-f', CHART_BASE_VALUES]);
  expect(r.code, r.stderr).toBe(0);
  const deployment = parseObjects(r.stdout).find((o) => o.kind === 'Deployment') as unknown as Deployment;
  return containersOf(deployment.spec.template.spec).sidecar.image;
}

describe('the packaged chart (helm package, then helm lint --strict of the .tgz)', () => {
  const version = sourceVersion();

  for (const [what, v] of [
    ["at package.json's version", version],
    ["at a pre-release tag's version", '0.2.0-rc.1'],
  ] as const) {
    it(`${what}: lints --strict on old and new clusters; version, appVersion and the image tag are the tag's`, async () => {
      const tgz = await packageChart(CHART_DIR, v);
      for (const kube of ['1.29.0', '1.37.2']) {
        const extra = kube === '1.29.0' ? ['--set', 'bot.preStop.mode=exec'] : [];
        const lint = await helm(helmBin, ['lint', '--strict', tgz, '--kube-version', kube, '-f', CHART_BASE_VALUES, ...extra]);
        expect(lint.code, lint.stdout + lint.stderr).toBe(0);
        expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      }
      const shown = yaml.load((await helm(helmBin, ['show', 'chart', tgz])).stdout) as { version: string; appVersion: string };
      expect(shown).toMatchObject({ version: v, appVersion: v });
      // ci/default-values.yaml names a sidecar repository and leaves the tag to the chart: the appVersion.
      expect(await sidecarImage(tgz)).toMatch(new RegExp(`/baton:${v.replaceAll('.', '\\.')}$`));
    });
  }

  it('lint --strict of the packaged chart renders its templates: a broken one fails it (the check can fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-chart-broken-'));
    cpSync(CHART_DIR, join(dir, 'baton'), { recursive: true });
    writeFileSync(join(dir, 'baton', 'templates', 'broken.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.nosuch.field }}\n');
    const tgz = await packageChart(join(dir, 'baton'), version);
    const lint = await helm(helmBin, ['lint', '--strict', tgz, '--kube-version', '1.37.2', '-f', CHART_BASE_VALUES]);
    expect(lint.code).not.toBe(0);
    expect(lint.stdout + lint.stderr).toContain('templates/broken.yaml');
    expect(lint.stdout + lint.stderr).toContain('nil pointer evaluating interface {}.field');
  });

  it("after npm run version:set, helm accepts the example chart's rewritten Chart.lock", async () => {
    const root = mkdtempSync(join(tmpdir(), 'baton-version-set-'));
    cpSync(join(REPO_ROOT, 'charts'), join(root, 'charts'), { recursive: true, filter: (src) => !src.endsWith(join('my-bot', 'charts')) });
    for (const file of ['package.json', ...PLACES.map((p) => p.file)]) {
      if (existsSync(join(root, file))) continue;
      mkdirSync(dirname(join(root, file)), { recursive: true });
      cpSync(join(REPO_ROOT, file), join(root, file));
    }
    setVersion('0.2.0-rc.1', root);
    const r = await helm(helmBin, ['dependency', 'build', join(root, 'charts', 'examples', 'my-bot')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readdirSync(join(root, 'charts', 'examples', 'my-bot', 'charts'))).toEqual(['baton-0.2.0-rc.1.tgz']);
  });
});
