// One graceful handoff between two peer pods, measured from the workers' own logs: the first pod
// leads and its worker polls, a standby joins and does not poll, the first is terminated as the kubelet
// would, and the standby's worker eventually polls. Used by the peers' integration tests (which assert
// only the behaviour) and available to the benchmark.
import { describeIntervals, gaps, overlap, pollIntervals, readWorkerLog, type PollInterval } from '../../test/harness/timeline.ts';
import { SimPod, type SimPodOptions } from '../../test/harness/sim-pod.ts';
import type { PeerCommand } from './commands.ts';
import { sleep, waitFor } from '../../test/harness/wait.ts';

export interface HandoffOptions {
  dir: string;
  /** Pod names; they must differ per run (the worker's command line carries them). */
  names: [string, string];
  peer: (name: string) => PeerCommand;
  /** How long to hold the steady state (both up, exactly one polling) before terminating the leader. */
  steadyMs?: number;
  /** How long the standby may take to poll after the leader's SIGTERM. */
  handoffTimeoutMs?: number;
  pod?: Partial<Omit<SimPodOptions, 'name' | 'dir' | 'agent'>>;
}

export interface HandoffResult {
  kind: string;
  pods: [SimPod, SimPod];
  intervals: PollInterval[];
  /** Longest stretch with no worker polling, between the first poll and the standby's first poll. */
  gapMs: number;
  /** Time with two workers polling at once. */
  twoPollersMs: number;
  /** From the SIGTERM to the old leader until the new worker polled. */
  sigtermToPollMs: number;
  /** Exit codes of the old leader's peer (after its SIGTERM) and of the new one (SIGTERMed at the end). */
  exitCodes: [number | null, number | null];
  /** Samples during the steady state where not exactly one worker polled (should stay 0). */
  steadyViolations: number;
  describe: string;
}

/** The events by which a standby shows it has looked at the lock and found it taken. */
const STANDBY_EVENTS = new Set(['attempt', 'new-leader']);

export async function runHandoff(o: HandoffOptions): Promise<HandoffResult> {
  const [nameA, nameB] = o.names;
  // No Pod objects: the peers never look at their Pod.
  const a = new SimPod({ preStopMs: 1000, ...o.pod, name: nameA, dir: o.dir, agent: o.peer(nameA) });
  const b = new SimPod({ preStopMs: 1000, ...o.pod, name: nameB, dir: o.dir, agent: o.peer(nameB) });
  const pods: [SimPod, SimPod] = [a, b];
  try {
    await a.start();
    await waitFor(`${nameA} to acquire and its worker to poll`, () => a.polling(), 30_000);
    await b.start();
    await waitFor(`${nameB} to see the lock taken`, () => b.agentEvents().some((e) => STANDBY_EVENTS.has(e.event)), 30_000);
    let steadyViolations = 0;
    const steadyUntil = Date.now() + (o.steadyMs ?? 1500);
    while (Date.now() < steadyUntil) {
      if (!(a.polling() && !b.polling())) steadyViolations++;
      await sleep(100);
    }

    const sigtermAt = performance.timeOrigin + performance.now();
    const terminated = a.terminate();
    await waitFor(`${nameB}'s worker to poll after ${nameA}'s SIGTERM`, () => b.polling(), o.handoffTimeoutMs ?? 60_000);
    const codeA = await terminated;
    // Let the new leader settle, then end it too: every peer must exit 0 on SIGTERM.
    await sleep(300);
    const end = performance.timeOrigin + performance.now();
    const codeB = await b.terminate();

    const lines = [...readWorkerLog(a.workerLog), ...readWorkerLog(b.workerLog)];
    const intervals = pollIntervals(lines, end, new Map([...a.deaths, ...b.deaths])).filter((i) => i.from < end);
    const firstB = intervals.find((i) => i.name === nameB);
    const firstA = intervals.find((i) => i.name === nameA);
    const gapList = firstA && firstB ? gaps(intervals, firstA.from, firstB.from) : [];
    const clipped = intervals.map((i) => ({ ...i, to: Math.min(i.to, end) }));
    return {
      kind: o.peer(nameA).kind,
      pods,
      intervals: clipped,
      gapMs: Math.max(0, ...gapList.map((g) => g.ms)),
      twoPollersMs: overlap(clipped).totalMs,
      sigtermToPollMs: firstB ? firstB.from - sigtermAt : NaN,
      exitCodes: [codeA, codeB],
      steadyViolations,
      describe: describeIntervals(clipped),
    };
  } finally {
    for (const p of pods) p.kill();
    await Promise.all(pods.map((p) => p.exited().catch(() => undefined)));
  }
}
