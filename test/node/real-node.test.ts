// baton on a real node in `npm test`: a one-node cluster (kubelet + containerd, test/node/node.ts), the real
// image from the Dockerfile, the chart installed with helm in both layouts, and the real rollout scenario
// (e2e/node/scenario.ts) under 20 updates/s with handlers slow enough that batches take time. The regular
// layout walks every step (rollout restarts, a deleted leader, the leader's bot container killed until it
// crash-loops, the leader's whole pod frozen by its cgroup for LD + 10 s with a batch in hand, scale to 0 and
// back); the native layout, what differs for it (rollouts, a deleted leader).
// `npm run e2e:node` is the longer run (5 rollouts, 3 kills, both layouts whole). The verdict is the Telegram
// double's ledger and the bots' own logs (kubectl logs): never two pollers, nothing handled twice, nothing
// lost, a handoff in every rollout. This test never skips: on a host that cannot run a node it fails with
// the reason (root, Linux, containerd, cgroups…).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, upWithImages, type NodeInfo } from './node.ts';
import { runNodeScenario, type NodeScenarioOptions, type NodeScenarioResult } from '../../e2e/node/scenario.ts';
import { nodeReport } from '../../e2e/node/report.ts';

const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${s}\n`);
let info: NodeInfo;
let helmBin: string;

beforeAll(async () => {
  ({ info, helm: helmBin } = await upWithImages(log));
});

afterAll(async () => {
  // Always: the node's daemons, pods, bridge, iptables chains, sysctls, mounts and cgroups go.
  await down(log);
});

function verdict(r: NodeScenarioResult, rollouts: number): void {
  const report = nodeReport(r);
  process.stderr.write(`\n${report}\n\n`);
  const detail = `${report}\nlogs: ${r.logsDir}`;
  expect(r.failures, detail).toEqual([]);
  expect(r.total.twoPollersMs, detail).toBe(0);
  expect(r.total.handledTwice, detail).toBe(0);
  expect(r.total.lost, detail).toBe(0);
  expect(r.total.conflicts409, detail).toBe(0);
  expect(r.rolloutMs, detail).toHaveLength(rollouts);
  // Every rollout replaced the leader's pod with exactly one handoff, to a pod of the new revision (C5; the
  // failures above say so too), and kubectl shows the truth.
  for (const s of r.steps.filter((x) => /^(rollout|upgrade|downgrade)/.test(x.step))) {
    // Away from the previous release, whose sidecar predates C5, more than one handoff is allowed (scenario.ts says why).
    if (!s.step.includes('(previous release →')) expect(s.pollersStarted, `${s.step}: handoffs\n${detail}`).toHaveLength(1);
    expect(s.newPods, `${s.step}: leadership went to a new pod\n${detail}`).toContain(s.pollersStarted.at(-1));
    expect(s.lease, s.step).toContain(r.release);
    expect(s.pods, s.step).toMatch(/\bleader\b/);
    expect(s.pods, s.step).toMatch(/\bstandby\b/);
  }
  // Scaling down to one pod and back keeps the leader (C5).
  for (const s of r.steps.filter((x) => /^scale \d/.test(x.step))) expect(s.pollersStarted, `${s.step}: handoffs\n${detail}`).toEqual([]);
}

const base = { rate: 20, handlerMs: 20, log } satisfies Partial<NodeScenarioOptions>;

describe('a real node', () => {
  it('regular sidecar: an upgrade from the previous release and back, rollouts, scale down and back, a deleted leader, a crash-looping bot, a frozen leader pod, scale to 0 and back', async () => {
    const r = await runNodeScenario({
      ...base,
      node: info,
      helm: helmBin,
      native: false,
      rollouts: 2,
      crashes: 2,
      freezeLeader: true,
      replicas: 2,
      upgradeFromPrevious: true,
    });
    verdict(r, 2);
    expect(r.steps.map((s) => s.step)).toEqual([
      'install',
      'upgrade (previous release → this)',
      'downgrade (this → previous release)',
      'upgrade again (previous release → this)',
      'rollout 1',
      'rollout 2',
      'scale 2 → 1',
      'scale 1 → 2',
      'delete leader pod',
      'bot container killed 2× (crash loop)',
      'leader pod frozen (cgroup)',
      'scale to 0 and back',
    ]);
    // F1: the frozen bot, thawed, sends no getUpdates (the double's ledger).
    expect(r.freezes.map((f) => f.getUpdatesAfterThaw)).toEqual([0]);
  });

  it('native sidecar, 3 replicas: rollouts (each one handoff, to a new pod), scale down to 1 and back (none), a deleted leader', async () => {
    const r = await runNodeScenario({ ...base, node: info, helm: helmBin, native: true, rollouts: 2, crashes: 0, scale: false, replicas: 3 });
    verdict(r, 2);
    expect(r.steps.map((s) => s.step)).toEqual(['install', 'rollout 1', 'rollout 2', 'scale 3 → 1', 'scale 1 → 3', 'delete leader pod']);
  });
});
