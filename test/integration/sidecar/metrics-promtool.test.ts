// promtool checks the real /metrics output: the text format parses, and our names, types and help
// follow Prometheus' conventions (promtool's linter), so dashboards and alert rules can rely on them.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BatonMetrics, METRIC_NAMES } from '../../../src/metrics.ts';
import { findPromtool } from '../../kube/promtool.ts';

/** Calls every method, with every label value the sidecar uses, as a running sidecar would. */
function exercise(m: BatonMetrics): void {
  m.info('pod-a', 'bot', 'default', '0.1.0');
  m.setLeader(true);
  m.setEpoch(4);
  for (const change of ['acquired', 'released', 'lost'] as const) m.transition(change);
  for (const outcome of ['confirmed', 'timeout', 'drained'] as const) m.pauseWait(0.012, outcome);
  m.acquireAfterRelease(0.004);
  for (const result of ['success', 'conflict', 'error'] as const) m.renew(0.02, result);
  for (const code of ['200', '409', 'timeout', 'error']) m.kubeRequest('update', 'leases', code);
  m.signal('SIGUSR1', 'sent');
  m.signal('SIGUSR2', 'failed');
  m.workerRestart();
  m.setReady(true);
  m.setLastRenew(1_795_000_000);
}

/** Runs `promtool check metrics` with `text` on stdin. */
function checkMetrics(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(findPromtool(), ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

describe('promtool check metrics', () => {
  it('passes on baton metrics alone: exit 0, no problems', async () => {
    const m = new BatonMetrics({ defaultMetrics: false, signals: ['SIGUSR1', 'SIGUSR2'] });
    exercise(m);
    const text = await m.text();
    for (const name of METRIC_NAMES) expect(text).toContain(`# TYPE ${name} `);
    const result = await checkMetrics(text);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('finds no problem with any baton_ metric in the full output', async () => {
    const m = new BatonMetrics({ signals: ['SIGUSR1', 'SIGUSR2'] });
    exercise(m);
    const result = await checkMetrics(await m.text());
    // prom-client's own gauges named nodejs_active_*_total draw lint warnings (exit 3); those are not ours.
    // Any other exit (1: the output did not parse) is a failure.
    expect([0, 3]).toContain(result.code);
    const problems = result.output.split('\n').filter((line) => line.trim() !== '');
    expect(problems.filter((line) => line.startsWith('baton_') || !/^(nodejs|process)_/.test(line))).toEqual([]);
  });
});
