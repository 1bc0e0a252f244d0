// A scenario's verdict: named checks, each a measured figure against the bound a rule predicts, and the
// table row `npm run chaos` prints (and README's "Fault suite" section shows).
import { describeIntervals } from '../../test/harness/timeline.ts';
import type { Analysis } from './analysis.ts';
import type { Timings } from './world.ts';

export interface Check {
  name: string;
  ok: boolean;
  /** What was measured, e.g. "0 ms" or "16.2 s". */
  measured: string;
  /** The bound the rule predicts, e.g. "= 0" or "≤ 17.4 s (LD + 2.2·RP + 1 s)". */
  bound: string;
}

/** One fault scenario judged: its checks and its row of the table (`npm run e2e`'s figures are a RolloutResult). */
export interface ChaosResult {
  id: string;
  title: string;
  /** The rules judged (S1, L1...). */
  rules: string;
  timings: Timings;
  pass: boolean;
  checks: Check[];
  row: {
    twoPollersMs: number | undefined;
    handledTwice: number | undefined;
    /** Repeats Telegram had to make (a killed or frozen bot's unconfirmed batch), counted apart. */
    redelivered?: number;
    lost: number | undefined;
    /** The gap around the fault, and its predicted bound (text). */
    gap: string;
    bound: string;
  };
  maxBatch?: number;
  durationMs: number;
  /** Extra figures worth printing (margins, exit times, CPU...). */
  notes: string[];
  /** The polling timeline, for failure messages. */
  timeline?: string;
  error?: string;
}

export const fmt = (ms: number | undefined): string =>
  ms === undefined || !Number.isFinite(ms) ? '-' : Math.abs(ms) >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;

/** Whole seconds as "15 s", else to a tenth ("2.5 s"). */
export const secs = (ms: number): string => `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;

export function check(name: string, ok: boolean, measured: string, bound: string): Check {
  return { name, ok, measured, bound };
}

/** The checks every scenario makes: two pollers, start signals, 409s, handled twice, lost, epoch. */
export function baseChecks(a: Analysis): Check[] {
  return [
    check("two pollers (bots' logs)", a.twoPollersMs === 0, fmt(a.twoPollersMs), '= 0 ms'),
    check(
      'start signals while another bot polls',
      a.startsWhileAnotherPolls.length === 0,
      a.startsWhileAnotherPolls.length === 0 ? '0' : a.startsWhileAnotherPolls.map((s) => `${s.name}(${s.pid}) while ${s.other}`).join('; '),
      '= 0',
    ),
    check('409s a live poller saw (double)', a.conflictsSeen === 0, String(a.conflictsSeen), '= 0'),
    check(
      'handled twice',
      a.handledTwice === 0,
      `${a.handledTwice}${a.redeliveredAfterKill ? ` (+${a.redeliveredAfterKill} redelivered from a SIGKILLed bot's unconfirmed batch)` : ''}${a.redeliveredAfterFreeze ? ` (+${a.redeliveredAfterFreeze} redelivered after a freeze: handled before it or in flight at it, never confirmed)` : ''}`,
      '= 0',
    ),
    check('lost', a.lost === 0, `${a.lost} of ${a.injected}`, '= 0'),
    check('epoch never falls (S2)', a.epochFalls.length === 0, a.epochFalls.length === 0 ? 'never' : a.epochFalls.join('; '), 'never'),
  ];
}

export function result(
  base: Pick<ChaosResult, 'id' | 'title' | 'rules' | 'timings'>,
  a: Analysis,
  checks: Check[],
  gap: { ms: number | undefined; bound: string },
  started: number,
  notes: string[] = [],
): ChaosResult {
  const all = [...baseChecks(a), ...checks];
  return {
    ...base,
    pass: all.every((c) => c.ok),
    checks: all,
    row: {
      twoPollersMs: a.twoPollersMs,
      handledTwice: a.handledTwice,
      redelivered: a.redeliveredAfterKill + a.redeliveredAfterFreeze,
      lost: a.lost,
      gap: fmt(gap.ms),
      bound: gap.bound,
    },
    maxBatch: a.maxBatch,
    durationMs: performance.timeOrigin + performance.now() - started,
    notes,
    timeline: describeIntervals(a.intervals),
  };
}

/** The table, Markdown, as README shows it. */
export function table(results: ChaosResult[]): string {
  const lines = [
    '| scenario | rules | two pollers | handled twice | lost | gap around the fault | predicted bound | verdict |',
    '|----------|-------|-------------|---------------|------|----------------------|-----------------|---------|',
  ];
  for (const r of results) {
    const failed = r.checks.filter((c) => !c.ok).map((c) => c.name);
    const verdict = r.error ? `ERROR: ${r.error.split('\n')[0]}` : r.pass ? 'pass' : `FAIL: ${failed.join(', ')}`;
    lines.push(
      `| ${r.title} | ${r.rules} | ${fmt(r.row.twoPollersMs)} | ${r.row.handledTwice ?? '-'}${r.row.redelivered ? ` (+${r.row.redelivered} redelivered)` : ''} | ${r.row.lost ?? '-'} | ${r.row.gap} | ${r.row.bound} | ${verdict} |`,
    );
  }
  return lines.join('\n');
}

/** Every check of one scenario, one per line (for failures and the log). */
export function details(r: ChaosResult): string {
  const lines = [`${r.pass ? 'PASS' : 'FAIL'} ${r.id} — ${r.title} (${(r.durationMs / 1000).toFixed(0)} s, largest batch ${r.maxBatch ?? '-'} updates)`];
  for (const c of r.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.measured} (rule: ${c.bound})`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  if (r.error) lines.push(`  error: ${r.error}`);
  if (!r.pass && r.timeline) lines.push('  timeline:', ...r.timeline.split('\n').map((l) => `    ${l}`));
  return lines.join('\n');
}
