import { describe, expect, it } from 'vitest';
import { cpuDuringGaps, cpuTable, gapWindows, type CpuSample } from '../../../../e2e/report/cpu-during-gaps.ts';
import { processKind } from '../../../../e2e/node/cpu-sampler.ts';

const kinds: Record<string, string> = { '1': 'kube-apiserver', '2': 'baton sidecars (pods)', '3': 'baton sidecars (pods)', '4': 'etcd' };
const kindOf = (pid: string) => kinds[pid] ?? 'unknown';

describe('cpuDuringGaps', () => {
  // Every 10 ms; the API server uses 5 ms of CPU per 10 ms throughout, each sidecar 1 ms per 10 ms.
  const samples: CpuSample[] = Array.from({ length: 101 }, (_, i) => ({
    t: 1000 + 10 * i,
    cpuMs: { '1': 5 * i, '2': i, '3': i, '4': 100 },
  }));

  it('sums each kind over the samples that frame each window; pids of one kind add up', () => {
    const c = cpuDuringGaps(
      samples,
      [
        { from: 1100, to: 1200 },
        { from: 1505, to: 1595 }, // framed by 1500 and 1600
      ],
      kindOf,
      2,
    );
    expect(c.windowMs).toBe(200);
    expect(c.capacityMs).toBe(400);
    expect(c.rows).toEqual([
      { process: 'kube-apiserver', cpuMs: 100 },
      { process: 'baton sidecars (pods)', cpuMs: 40 },
    ]); // etcd used nothing: no row
  });

  it('a pid that starts inside a window counts from its first reading; a window the samples do not frame is left out', () => {
    const late = samples.map((s) => (s.t >= 1150 ? { ...s, cpuMs: { ...s.cpuMs, '5': s.t - 1150 } } : s));
    const c = cpuDuringGaps(
      late,
      [
        { from: 1100, to: 1200 },
        { from: 500, to: 600 },
        { from: 1990, to: 2100 },
      ],
      (pid) => (pid === '5' ? 'runc' : kindOf(pid)),
      2,
    );
    expect(c.windowMs).toBe(100);
    expect(c.rows.find((r) => r.process === 'runc')?.cpuMs).toBe(50);
  });

  it('prints each kind with its share of the host and the total', () => {
    const table = cpuTable(cpuDuringGaps(samples, [{ from: 1100, to: 1200 }], kindOf, 2), 1);
    expect(table).toContain('1 gaps, 100 ms in all, 200 ms of CPU');
    expect(table).toContain('| kube-apiserver | 50 | 25 % |');
    expect(table).toContain('| all sampled | 70 | 35 % |');
  });
});

describe('gapWindows', () => {
  it("each handoff's old bot paused → new bot polling, on the host's clock; a handoff missing either is left out", () => {
    const h = (at: number, steps: Record<string, number>) => ({ from: 'a', to: 'b', at, trigger: 'SIGTERM', steps, gapMs: undefined });
    expect(gapWindows([h(1000, { 'bot-paused': 40, 'polling-start': 95 }), h(5000, { 'bot-paused': 30 }), h(9000, { 'polling-start': 80 })])).toEqual([
      { from: 1040, to: 1095 },
    ]);
  });
});

describe('processKind', () => {
  it("names the pods' Node processes by their command line (Node 24's main thread is MainThread) and the daemons by comm", () => {
    expect(processKind('MainThread', '/nodejs/bin/node --lite-mode --max-semi-space-size=1 /app/baton.mjs ', 1, 2)).toBe('baton sidecars (pods)');
    expect(processKind('MainThread', 'node e2e/bots/bot.ts ', 1, 2)).toBe('sample bots (pods)');
    expect(processKind('MainThread', 'node e2e/node/run.ts --only regular ', 1, 2)).toBe('e2e runner and Telegram double');
    expect(processKind('containerd-shim', '/usr/bin/containerd-shim-runc-v2 -namespace k8s.io ', 1, 2)).toBe('containerd-shim');
    expect(processKind('kube-controller', '/x/kube-controller-manager ', 1, 2)).toBe('kube-controller-manager');
    expect(processKind('kube-apiserver', '/x/kube-apiserver ', 1, 2)).toBe('kube-apiserver');
    expect(processKind('MainThread', 'node e2e/node/cpu-sampler.ts out ', 7, 7)).toBe('the sampler itself');
    expect(processKind('sshd', '/usr/sbin/sshd ', 1, 2)).toBeUndefined();
  });
});
