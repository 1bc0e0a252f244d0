// The kind e2e's verdict, from the Telegram double's accounting over its HTTP hooks (/__double/...). Runs
// inside the double's pod (`kubectl exec deploy/telegram-double -- node e2e/kind/report.ts ...`), so the
// host needs no Node; the figures are computed by the same code as the local e2e (e2e/report/figures.ts).
//   node e2e/kind/report.ts reset  [--url http://127.0.0.1:8081]               forget the ledger (not the queue)
//   node e2e/kind/report.ts report [--url ...] [--rollouts N] [--settle-ms 5000]  print the figures; exit 1 on a failure
import { parseArgs } from 'node:util';
import { figures, type HandledRecord, type Injected } from '../report/figures.ts';
import type { PollInterval } from '../../test/harness/timeline.ts';
import type { Delivery, InjectRecord, Stats } from '../telegram/accounting.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8081' },
    rollouts: { type: 'string', default: '0' },
    'settle-ms': { type: 'string', default: '5000' },
  },
});

async function hook<T>(path: string): Promise<T> {
  const res = await fetch(`${values.url}/__double/${path}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { ok: boolean; result: T; description?: string };
  if (!body.ok) throw new Error(`/__double/${path}: ${body.description ?? res.status}`);
  return body.result;
}

/** Runs of consecutive deliveries to the same poller: who polled, from when to when. */
export function deliveryRuns(deliveries: readonly Delivery[]): PollInterval[] {
  const runs: PollInterval[] = [];
  for (const d of [...deliveries].sort((a, b) => a.at - b.at)) {
    const last = runs.at(-1);
    if (last && last.name === d.client) last.to = d.at;
    else runs.push({ name: d.client, pid: 0, from: d.at, to: d.at, cut: false });
  }
  return runs;
}

const command = positionals[0] ?? 'report';
if (command === 'reset') {
  await hook('reset');
  console.log('double: ledger reset');
} else if (command === 'report') {
  // Updates injected in the last few seconds may still be in flight: they cannot count as lost yet.
  const before = performance.timeOrigin + performance.now() - Number(values['settle-ms']);
  const [stats, deliveries, injectedLog] = await Promise.all([
    hook<Stats>(`stats?before=${before}`),
    hook<Delivery[]>('deliveries'),
    hook<InjectRecord[]>('injected'),
  ]);
  const runs = deliveryRuns(deliveries);
  const handled: HandledRecord[] = deliveries.map((d) => ({ update: d.updateId, name: d.client, mono: d.at }));
  const injected: Injected[] = injectedLog.filter((i) => i.updateId !== null && i.at < before).map((i) => ({ updateId: i.updateId!, at: i.at }));
  const end = Math.max(...deliveries.map((d) => d.at));
  const f = figures({
    intervals: runs,
    handled,
    injected,
    conflicts409: stats.conflictsSeen,
    conflicts409Unseen: stats.conflicts - stats.conflictsSeen,
    end,
    downtime: [],
    handoffs: Math.max(0, runs.length - 1),
  });

  console.log('pollers, in order:');
  for (const r of runs) console.log(`  ${r.name.padEnd(40)} ${((r.to - r.from) / 1000).toFixed(1).padStart(7)} s`);
  console.log(`handoffs ${f.handoffs}; gap between pollers: max ${f.gapMs.max} ms, p50 ${f.gapMs.p50} ms (includes up to one inter-arrival of the load)`);
  console.log(
    `updates injected ${stats.injected}, delivered ${stats.delivered}, duplicates ${stats.duplicates}, lost ${stats.lost}, 409s ${stats.conflicts} (seen ${stats.conflictsSeen})`,
  );
  console.log(`latency injected→delivered: p50 ${f.latencyMs.p50} ms, p99 ${f.latencyMs.p99} ms, max ${f.latencyMs.max} ms`);
  console.log(
    JSON.stringify({
      kind: 'baton-kind-e2e',
      ...f,
      stats: { injected: stats.injected, delivered: stats.delivered, duplicates: stats.duplicates, lost: stats.lost, conflicts: stats.conflicts },
    }),
  );

  const failures: string[] = [];
  // A 409 decided for a paused bot's abandoned long poll reaches nobody; only a live poller's 409 means overlap.
  if (stats.conflictsSeen > 0) failures.push(`${stats.conflictsSeen} 409 Conflict(s) reached a live poller: two pollers overlapped`);
  if (stats.duplicates > 0) failures.push(`${stats.duplicates} update(s) delivered twice`);
  if (stats.lost > 0) failures.push(`${stats.lost} update(s) never delivered: ${stats.lostIds.slice(0, 10).join(', ')}`);
  if (f.handoffs < Number(values.rollouts)) failures.push(`${f.handoffs} handoff(s) for ${values.rollouts} rollout(s)`);
  if (failures.length > 0) {
    console.log(`FAIL\n  ${failures.join('\n  ')}`);
    process.exit(1);
  }
  console.log('PASS');
} else {
  console.error(`unknown command ${command}: reset | report`);
  process.exit(2);
}
