// Issue 14, finding 1, chart side: a real helm refuses a Fetch "bad port" for sidecar.listen and
// sidecar.probePort, through values.schema.json and, for installs that skip the schema, baton.validate.
import { beforeAll, describe, expect, it } from 'vitest';
import { CHART_BASE_VALUES, CHART_DIR, ensureHelm, helm } from '../../kube/helm.ts';

let helmBin: string;
beforeAll(async () => {
  helmBin = await ensureHelm();
});

const render = (set: string[], extra: string[] = []) =>
  helm(helmBin, ['template', 'x', CHART_DIR, '--kube-version', '1.37.2', '-f', CHART_BASE_VALUES, ...extra, ...set.flatMap((s) => ['--set', s])]);

describe("the chart refuses the Fetch standard's bad ports", () => {
  it('in the schema: sidecar.listen=127.0.0.1:4190 and sidecar.probePort=6000', async () => {
    const listen = await render(['sidecar.listen=127.0.0.1:4190']);
    expect(listen.code).not.toBe(0);
    expect(listen.stderr).toContain('/sidecar/listen');
    const probe = await render(['sidecar.probePort=6000']);
    expect(probe.code).not.toBe(0);
    expect(probe.stderr).toContain('/sidecar/probePort');
  });

  it('in the template check, naming the port, why and the fix, when the schema is skipped', async () => {
    const listen = await render(['sidecar.listen=127.0.0.1:4190'], ['--skip-schema-validation']);
    expect(listen.code).not.toBe(0);
    expect(listen.stderr).toContain(
      'sidecar.listen (127.0.0.1:4190) uses port 4190, a "bad port" of the Fetch standard that the bot\'s fetch() refuses to connect to: choose another port, e.g. 127.0.0.1:4040',
    );
    const probe = await render(['sidecar.probePort=10080'], ['--skip-schema-validation']);
    expect(probe.stderr).toContain('sidecar.probePort (10080) is a "bad port" of the Fetch standard');
  });

  it('accepts the neighbouring ports', async () => {
    const ok = await render(['sidecar.listen=127.0.0.1:4191', 'sidecar.probePort=6001']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('value: "127.0.0.1:4191"');
    expect(ok.stdout).toContain('value: "0.0.0.0:6001"');
  });
});
