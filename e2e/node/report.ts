// The real-node scenario's figures as text: one table per layout (the README's "Real node" figures), printed
// by `npm run e2e:node` and by the real-node test in `npm test`.
import type { NodeScenarioResult } from './scenario.ts';

/** 1234 → "1.23 s", 12.3 → "12.3 ms". */
export function ms(x: number | undefined): string {
  return x === undefined ? '-' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`;
}

export function nodeReport(r: NodeScenarioResult): string {
  const out = [
    `${r.layout} sidecar (${r.replicas} replicas), ${(r.durationMs / 1000).toFixed(0)} s:`,
    '| step | took | two pollers | handled twice | redelivered after a kill | lost | handoff gaps | longest gap |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const s of r.steps) {
    const f = s.figures;
    out.push(`| ${s.step} | ${(s.durationMs / 1000).toFixed(1)} s | ${ms(f.twoPollersMs)} | ${f.handledTwice} | ${f.redeliveredAfterKill} | ${f.lost} | ${f.handoffGapsMs.map((g) => ms(g)).join(', ') || '-'} | ${ms(f.gap.maxMs)} |`);
  }
  const t = r.total;
  out.push(
    `total: two pollers ${ms(t.twoPollersMs)}, 409s ${t.conflicts409}, handled twice ${t.handledTwice} (+${t.redeliveredAfterKill} redelivered from a SIGKILLed bot's unconfirmed batch), lost ${t.lost} (of ${t.injected}); ` +
      `rollout gap median ${ms(t.rolloutGapP50Ms)}, max ${ms(t.rolloutGapMaxMs)}; rolling update of ${r.replicas} replicas end to end: ${r.rolloutMs.map((x) => `${(x / 1000).toFixed(1)} s`).join(', ')}`,
  );
  if (r.failures.length) out.push(`FAIL: ${r.failures.join('; ')}`);
  return out.join('\n');
}
