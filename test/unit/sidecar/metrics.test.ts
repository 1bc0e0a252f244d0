import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BatonMetrics, METRIC_NAMES } from '../../../src/metrics.ts';

/** Calls every method once, as a running sidecar would. */
function exercise(m: BatonMetrics): void {
  m.info('pod-a', 'bot', 'default', '0.1.0');
  m.setLeader(true);
  m.setEpoch(4);
  m.transition('acquired');
  m.pauseWait(0.012, 'confirmed');
  m.acquireAfterRelease(0.004);
  m.renew(0.02, 'success');
  m.kubeRequest('update', 'leases', '200');
  m.signal('SIGUSR1', 'sent');
  m.workerRestart();
  m.setReady(true);
  m.setLastRenew(1_795_000_000);
  m.watchStart('lease', 'error');
}

/** `name{labels} value` lines of the text format, keyed by everything before the value. */
function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    map.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return map;
}

describe('BatonMetrics', () => {
  it('exports every metric name with HELP and TYPE after use', async () => {
    const m = new BatonMetrics();
    exercise(m);
    const text = await m.text();
    for (const name of METRIC_NAMES) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} `);
    }
    const s = samples(text);
    expect(s.get('baton_info{identity="pod-a",lease="bot",namespace="default",version="0.1.0"}')).toBe(1);
    expect(s.get('baton_leader')).toBe(1);
    expect(s.get('baton_lease_epoch')).toBe(4);
    expect(s.get('baton_leader_transitions_total{change="acquired"}')).toBe(1);
    expect(s.get('baton_handoff_pause_seconds_bucket{le="0.025",outcome="confirmed"}')).toBe(1);
    expect(s.get('baton_handoff_pause_seconds_bucket{le="0.01",outcome="confirmed"}')).toBe(0);
    expect(s.get('baton_handoff_acquire_seconds_count')).toBe(1);
    expect(s.get('baton_lease_renew_duration_seconds_sum{result="success"}')).toBeCloseTo(0.02);
    expect(s.get('baton_kube_requests_total{verb="update",resource="leases",code="200"}')).toBe(1);
    expect(s.get('baton_worker_signals_total{signal="SIGUSR1",result="sent"}')).toBe(1);
    expect(s.get('baton_worker_restarts_total')).toBe(1);
    expect(s.get('baton_ready')).toBe(1);
    expect(s.get('baton_lease_last_renew_timestamp_seconds')).toBe(1_795_000_000);
    expect(s.get('baton_watch_starts_total{watch="lease",reason="error"}')).toBe(1);
    // prom-client's process and Node.js metrics come along.
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('exports no baton_ metric that METRIC_NAMES does not list', async () => {
    const m = new BatonMetrics({ defaultMetrics: false });
    exercise(m);
    const types = [...(await m.text()).matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]);
    expect(types.sort()).toEqual([...METRIC_NAMES].sort());
  });

  it('starts the series known up front at zero', async () => {
    const m = new BatonMetrics({ defaultMetrics: false, signals: ['SIGUSR1', 'SIGUSR2'] });
    const s = samples(await m.text());
    for (const change of ['acquired', 'released', 'lost']) expect(s.get(`baton_leader_transitions_total{change="${change}"}`)).toBe(0);
    for (const outcome of ['confirmed', 'timeout', 'drained']) expect(s.get(`baton_handoff_pause_seconds_count{outcome="${outcome}"}`)).toBe(0);
    for (const result of ['success', 'conflict', 'error']) expect(s.get(`baton_lease_renew_duration_seconds_count{result="${result}"}`)).toBe(0);
    for (const signal of ['SIGUSR1', 'SIGUSR2']) {
      for (const result of ['sent', 'failed']) expect(s.get(`baton_worker_signals_total{signal="${signal}",result="${result}"}`)).toBe(0);
    }
    expect(s.get('baton_leader')).toBe(0);
    expect(s.get('baton_worker_restarts_total')).toBe(0);
    const w = samples(await new BatonMetrics({ defaultMetrics: false, watches: ['lease', 'pod'] }).text());
    for (const watch of ['lease', 'pod']) {
      for (const reason of ['initial', 'closed', 'expired', 'timeout', 'error'])
        expect(w.get(`baton_watch_starts_total{watch="${watch}",reason="${reason}"}`)).toBe(0);
    }
  });

  it('uses millisecond-to-30 s buckets', async () => {
    const m = new BatonMetrics({ defaultMetrics: false });
    const les = [...(await m.text()).matchAll(/^baton_handoff_acquire_seconds_bucket\{le="([^"]+)"\}/gm)].map((x) => x[1]);
    expect(les).toEqual(['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '+Inf']);
  });

  it('keeps one baton_info series when info() is called again', async () => {
    const m = new BatonMetrics({ defaultMetrics: false });
    m.info('pod-a', 'bot', 'default', '0.1.0');
    m.info('pod-a', 'bot', 'default', '0.2.0');
    const lines = (await m.text()).split('\n').filter((l) => l.startsWith('baton_info{'));
    expect(lines).toEqual(['baton_info{identity="pod-a",lease="bot",namespace="default",version="0.2.0"} 1']);
  });

  it('counts repeatedly and flips gauges back', async () => {
    const m = new BatonMetrics({ defaultMetrics: false });
    m.transition('lost');
    m.transition('lost');
    m.setLeader(true);
    m.setLeader(false);
    m.setReady(false);
    m.kubeRequest('get', 'leases', 'timeout');
    const s = samples(await m.text());
    expect(s.get('baton_leader_transitions_total{change="lost"}')).toBe(2);
    expect(s.get('baton_leader')).toBe(0);
    expect(s.get('baton_ready')).toBe(0);
    expect(s.get('baton_kube_requests_total{verb="get",resource="leases",code="timeout"}')).toBe(1);
  });

  it('keeps to its own registry, so two instances do not clash', async () => {
    const a = new BatonMetrics();
    const b = new BatonMetrics();
    a.setEpoch(1);
    b.setEpoch(2);
    expect(samples(await a.text()).get('baton_lease_epoch')).toBe(1);
    expect(samples(await b.text()).get('baton_lease_epoch')).toBe(2);
    expect(await globalRegistry.metrics()).not.toContain('baton_');
    expect(a.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
