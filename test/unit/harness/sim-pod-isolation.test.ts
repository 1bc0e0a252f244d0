// Two test runs on one machine (CI and an engineer, or two engineers) use the same pod names, and the
// sidecar finds its worker by command line among all the machine's processes: a run's sidecar must never
// match the other run's worker (issue 19: steady-state-logs saw a "pause 0" confirmation from a worker
// that another run's sidecar had paused).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SimPod } from '../../harness/sim-pod.ts';

const dir = mkdtempSync(join(tmpdir(), 'baton-sim-pod-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OPTIONS = { name: 'steady-a', namespace: 'ns', leaseName: 'steady', kubeconfig: '/nonexistent', dir };

describe('SimPod worker targeting across test runs', () => {
  it("the worker of another test process with the same pod name is not this pod's target", () => {
    const here = new SimPod(OPTIONS);
    // The other run: another process, same pod name; its worker's last argument as it would start it.
    const other = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      const { SimPod } = await import(${JSON.stringify(join(import.meta.dirname, '..', '..', 'harness', 'sim-pod.ts'))});
      const p = new SimPod(${JSON.stringify(OPTIONS)});
      console.log(p.podArg ?? '--pod=' + p.opts.name); // before podArg: the name alone
    `,
      ],
      { encoding: 'utf8' },
    );
    expect(other.stderr).toBe('');
    const otherWorker = `${process.execPath} test/fixtures/worker.ts ${other.stdout.trim()}`;
    const ownArg = (here as { podArg?: string }).podArg ?? `--pod=${OPTIONS.name}`;
    const ownWorker = `${process.execPath} test/fixtures/worker.ts ${ownArg}`;
    const target = new RegExp(here.targetCommand);
    expect(target.test(ownWorker)).toBe(true);
    expect(target.test(otherWorker), `${here.targetCommand} must not match ${otherWorker}`).toBe(false);
  });
});
