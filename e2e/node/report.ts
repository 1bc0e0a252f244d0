// The real-node scenario's figures as text: one table per layout (the README's "Real node" figures), printed
// by `npm run e2e:node` and by the real-node test in `npm test`.
import type { NodeScenarioResult } from './scenario.ts';
import { gapPartsTable, mediansTable, timelineTable } from '../report/handoff-timeline.ts';

/** 1234 → "1.23 s", 12.3 → "12.3 ms". */
export function ms(x: number | undefined): string {
  return x === undefined ? '-' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`;
}

export function nodeReport(r: NodeScenarioResult): string {
  const out = [
    `${r.layout} sidecar (${r.replicas} replicas), ${(r.durationMs / 1000).toFixed(0)} s:`,
    '| step | took | two pollers | handled twice | redelivered after a kill | redelivered after a freeze | lost | handoff gaps | longest gap | host load (1 min) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of r.steps) {
    const f = s.figures;
    out.push(
      `| ${s.step} | ${(s.durationMs / 1000).toFixed(1)} s | ${ms(f.twoPollersMs)} | ${f.handledTwice} | ${f.redeliveredAfterKill} | ${f.redeliveredAfterFreeze} | ${f.lost} | ${f.handoffGapsMs.map((g) => ms(g)).join(', ') || '-'} | ${ms(f.gap.maxMs)} | ${s.load1.toFixed(2)} |`,
    );
  }
  const t = r.total;
  out.push(
    `total: two pollers ${ms(t.twoPollersMs)}, 409s ${t.conflicts409}, handled twice ${t.handledTwice} (+${t.redeliveredAfterKill} redelivered from a SIGKILLed bot's unconfirmed batch, +${t.redeliveredAfterFreeze} from a frozen bot's), lost ${t.lost} (of ${t.injected}); ` +
      `rollout gap median ${ms(t.rolloutGapP50Ms)}, max ${ms(t.rolloutGapMaxMs)}; rolling update of ${r.replicas} replicas end to end: ${r.rolloutMs.map((x) => `${(x / 1000).toFixed(1)} s`).join(', ')}`,
  );
  for (const f of r.freezes) {
    out.push(
      `pod frozen: ${f.pod} for ${ms(f.frozenMs)} (cgroup ${f.cgroup}); after the thaw its bot sent ${f.getUpdatesAfterThaw} getUpdates and handled ${f.handledAfterThaw} updates`,
    );
  }
  // Where each graceful handoff's time went (issue 20): one table per handoff, then the medians.
  for (const h of r.handoffs) out.push('', `${h.inStep}: ${timelineTable(h)}`);
  if (r.handoffs.length) out.push('', mediansTable(r.handoffMedians, r.handoffs.length), '', gapPartsTable(r.handoffs));
  if (r.failures.length) out.push(`FAIL: ${r.failures.join('; ')}`);
  return out.join('\n');
}
