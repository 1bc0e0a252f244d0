// The worker kit's adapters with their real frameworks (and the Python helper), against the Telegram
// Bot API double and the real sidecar: three rolling updates of an idle bot (no traffic at all: every
// pause finds its long poll parked, where Telegram's same-offset rule used to cost 3 s), then three
// under steady load. Nothing handled twice, nothing lost, no 409, never two pollers; the handoff
// figures per framework (pause signal → the new bot polls) are printed.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { adminKubeConfig, freshNamespace } from '../../kube/cluster.ts';
import { runScenario } from '../../../e2e/rollout/scenario.ts';

const kube = inject('kube');
let namespace: string;
let kc: k8s.KubeConfig;
const dir = mkdtempSync(join(tmpdir(), 'baton-kit-'));

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'kit');
  kc = adminKubeConfig(kube);
});

describe.each(['plain', 'grammy', 'telegraf', 'ntba', 'python'] as const)('%s under baton', (framework) => {
  it('three idle rolling updates, then three under 20 updates/s: millisecond handoffs, zero duplicates, zero lost, zero 409s, zero overlap', async () => {
    const r = await runScenario({
      contender: {
        name: `kit-${framework}`,
        description: framework,
        env: { BATON_LEASE_DURATION: '4s', BATON_RENEW_DEADLINE: '3s', BATON_RETRY_PERIOD: '1s' },
      },
      namespace,
      kubeconfig: kube.adminKubeconfig,
      kc,
      dir,
      idleRollouts: 3,
      rollouts: 3,
      rate: 20,
      handlerMs: 20,
      limit: 100,
      framework,
      settleMs: 1500,
    });
    const f = r.figures;
    console.log(`${framework}: idle handoffs ${JSON.stringify(r.idle)}; loaded handoffs ${JSON.stringify(r.loaded)}; ${JSON.stringify(f)}`);
    // No pause ever waited on Telegram's same-offset rule (an idle bot's pause took 3 s before the fix):
    // judged by the double, the referee, not by a timing. The handoff figures are printed above; the
    // benchmark (npm run bench) is where their targets are measured.
    expect(r.forcedTimeouts).toBe(0);
    expect(r.idle?.n).toBeGreaterThan(0);
    expect(f.injected).toBeGreaterThan(50);
    expect(f.twoPollersMs).toBe(0);
    expect(f.handledTwice).toBe(0);
    expect(f.lost).toBe(0);
    expect(f.conflicts409).toBe(0);
    expect(f.handled).toBe(f.injected);
  }, 360_000);
});
