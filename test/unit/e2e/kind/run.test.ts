// e2e/kind/run.sh cannot run here (no Docker): it is held to `bash -n` and shellcheck (installed by
// scripts/prerequisites.sh tests, so this never skips).
// Its chart values and manifests are rendered and applied in test/integration/chart/apiserver.test.ts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..', '..');
const script = join(root, 'e2e', 'kind', 'run.sh');

describe('e2e/kind/run.sh', () => {
  it('parses (bash -n)', () => {
    const r = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('passes shellcheck (Debian package shellcheck)', () => {
    const r = spawnSync('shellcheck', [script], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it("builds the sidecar from the repository's Dockerfile, loads both images, installs the chart, rolls, and reads the double's accounting", () => {
    const text = readFileSync(script, 'utf8');
    for (const step of [
      'docker build -t baton:kind "$ROOT"',
      'docker build -f "$HERE/Dockerfile" -t baton-e2e:kind "$ROOT"',
      'kind load docker-image --name "$CLUSTER" baton:kind baton-e2e:kind',
      'helm upgrade --install "$RELEASE" "$ROOT/charts/baton"',
      'kn rollout restart "deployment/$DEPLOYMENT"',
      'kn rollout status "deployment/$DEPLOYMENT"',
      'report report --rollouts "$ROLLOUTS"',
    ])
      expect(text).toContain(step);
  });
});
