// Upgrading baton itself: a rolling update in which the old pod runs the previous release's sidecar
// (built from its commit, test/harness/previous-release.ts) and the new one this tree's, then a rollback,
// then the upgrade again — old → new, new → old, old → new — under steady load, against the real API
// server, the Telegram double and real bots. Each handoff must be the same as within one release:
// never two pollers, nothing handled twice, nothing lost, no 409, one handoff per rolling update.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { adminKubeConfig, freshNamespace } from '../../kube/cluster.ts';
import { SIDECAR_NODE_FLAGS } from '../../harness/sim-pod.ts';
import { PREVIOUS_RELEASE, previousReleaseBundle } from '../../harness/previous-release.ts';
import { runScenario } from '../../../e2e/rollout/scenario.ts';

const kube = inject('kube');
let namespace: string;
let kc: k8s.KubeConfig;
let previous: string;
const dir = mkdtempSync(join(tmpdir(), 'baton-upgrade-'));

beforeAll(async () => {
  namespace = await freshNamespace(kube, 'upgrade');
  kc = adminKubeConfig(kube);
  // Built once into the cache (the commit's npm ci, tsc and bundle): minutes the first time.
  previous = await previousReleaseBundle();
}, 900_000);

describe(`an upgrade from ${PREVIOUS_RELEASE.name}`, () => {
  it('old → new, new → old, old → new under 20 updates/s: one handoff per rollout, nothing handled twice, nothing lost, never two pollers', async () => {
    const sidecars: string[] = [];
    const r = await runScenario({
      contender: {
        name: 'upgrade',
        description: 'previous release ↔ this tree',
        env: { BATON_LEASE_DURATION: '4s', BATON_RENEW_DEADLINE: '3s', BATON_RETRY_PERIOD: '1s' },
      },
      namespace,
      kubeconfig: kube.adminKubeconfig,
      kc,
      dir,
      rollouts: 3,
      rate: 20,
      handlerMs: 20,
      limit: 100,
      settleMs: 1500,
      // Pods 1 and 3 run the previous release, pods 2 and 4 this tree.
      sidecarFor: (n) => {
        sidecars[n] = n % 2 === 1 ? 'previous' : 'this';
        return n % 2 === 1 ? { cli: previous, nodeArgs: SIDECAR_NODE_FLAGS } : {};
      },
    });
    const f = r.figures;
    console.log(`upgrade: loaded handoffs ${JSON.stringify(r.loaded)}; ${JSON.stringify(f)}`);
    expect(sidecars.slice(1)).toEqual(['previous', 'this', 'previous', 'this']);
    expect(r.loaded.n, 'one graceful handoff per rolling update').toBe(3);
    expect(f.injected).toBeGreaterThan(50);
    expect(f.twoPollersMs).toBe(0);
    expect(f.handledTwice).toBe(0);
    expect(f.lost).toBe(0);
    expect(f.conflicts409).toBe(0);
    expect(f.handled).toBe(f.injected);
  }, 900_000);
});
