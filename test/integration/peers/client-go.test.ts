// Peer (a): client-go's tools/leaderelection (LeaseLock, ReleaseOnCancel), built from the Go module
// proxy, driving real workers against the real API server. Asserts the behaviour only; the gap and
// overlap are recorded (the benchmark compares them, with client-go's default timings).
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshNamespace } from '../../kube/cluster.ts';
import { ensureClientGoPeer } from '../../../e2e/peers/client-go.ts';
import { clientGoPeer } from '../../../e2e/peers/commands.ts';
import { runHandoff } from '../../../e2e/peers/handoff.ts';

const kube = inject('kube');
let binary: string;
let namespace: string;
let dir: string;

beforeAll(async () => {
  binary = await ensureClientGoPeer();
  namespace = await freshNamespace(kube, 'peers-client-go');
  dir = mkdtempSync(join(tmpdir(), 'baton-peers-cg-'));
});

describe('peer: client-go leaderelection', () => {
  it('one leader polls, the standby does not; after SIGTERM the standby takes over; both exit 0', async () => {
    const r = await runHandoff({
      dir,
      names: ['cg-a', 'cg-b'],
      // Short timings to keep the test quick (the benchmark uses client-go's defaults, 15s/10s/2s).
      peer: () =>
        clientGoPeer({ binary, kubeconfig: kube.adminKubeconfig, namespace, leaseName: 'cg', leaseDuration: '4s', renewDeadline: '3s', retryPeriod: '1s' }),
      steadyMs: 2500,
      handoffTimeoutMs: 20_000,
      pod: { preStopMs: 500, graceMs: 20_000 },
    });
    console.log(
      `client-go (4s/3s/1s): gap ${r.gapMs.toFixed(1)} ms, overlap ${r.twoPollersMs.toFixed(1)} ms, SIGTERM→poll ${r.sigtermToPollMs.toFixed(1)} ms (logs in ${dir})\n${r.describe}`,
    );
    expect(r.steadyViolations, 'exactly one worker polls in the steady state').toBe(0);
    expect(r.exitCodes).toEqual([0, 0]);
    const [a, b] = r.pods;
    expect(a.agentEvents().some((e) => e.event === 'acquired') && a.agentEvents().some((e) => e.event === 'released')).toBe(true);
    expect(b.agentEvents().some((e) => e.event === 'acquired')).toBe(true);
    expect(Number.isFinite(r.sigtermToPollMs)).toBe(true);
  });
});
