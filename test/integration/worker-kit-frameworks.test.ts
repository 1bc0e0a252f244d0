// The worker kit's adapters with their real frameworks, against the Telegram Bot API double and the
// real sidecar: repeated rolling updates under steady load. Nothing handled twice, nothing lost, no
// 409, never two pollers.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { adminKubeConfig, freshNamespace } from '../kube/cluster.ts';
import { runScenario } from '../../e2e/rollout/scenario.ts';

const kube = inject('kube');
let namespace: string;
let kc: k8s.KubeConfig;
const dir = mkdtempSync(join(tmpdir(), 'baton-kit-'));

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'kit');
  kc = adminKubeConfig(kube);
});

describe.each(['plain', 'grammy', 'telegraf', 'ntba'] as const)('%s under baton', (framework) => {
  it('three rolling updates under 20 updates/s: zero duplicates, zero lost, zero 409s, zero overlap', async () => {
    const r = await runScenario({
      contender: { name: `kit-${framework}`, description: framework, env: { BATON_LEASE_DURATION: '4s', BATON_RENEW_DEADLINE: '3s', BATON_RETRY_PERIOD: '1s' } },
      namespace,
      kubeconfig: kube.adminKubeconfig,
      kc,
      dir,
      rollouts: 3,
      rate: 20,
      handlerMs: 20,
      limit: 100,
      framework,
      settleMs: 1500,
    });
    const f = r.figures;
    console.log(`${framework}: ${JSON.stringify(f)}`);
    expect(f.injected).toBeGreaterThan(50);
    expect(f.overlapMs).toBe(0);
    expect(f.duplicates).toBe(0);
    expect(f.lost).toBe(0);
    expect(f.conflicts409).toBe(0);
    expect(f.handled).toBe(f.injected);
  });
});
