// The arithmetic of npm run bench:scale: the figures in README's "Scale" table are only as true as these.
import { describe, expect, it } from 'vitest';
import {
  bunching,
  cpuPercent,
  cpuTicks,
  delta,
  gaugeSum,
  histogramQuantile,
  percentile,
  requestsByCode,
  requestsByVerb,
  rssMB,
  schedstat,
} from '../../../bench/scale-measure.ts';

const METRICS = [
  '# HELP apiserver_request_total [STABLE] Counter of apiserver requests',
  '# TYPE apiserver_request_total counter',
  'apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 120',
  'apiserver_request_total{code="409",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 3',
  'apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="namespace",subresource="",verb="WATCH",version="v1"} 40',
  'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"} 7',
  'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="",scope="",subresource="",verb="GET",version=""} 2',
  'apiserver_longrunning_requests{component="apiserver",group="coordination.k8s.io",resource="leases",scope="namespace",subresource="",verb="WATCH",version="v1"} 800',
  'apiserver_longrunning_requests{component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="WATCH",version="v1"} 5',
].join('\n');

describe('bench:scale measures', () => {
  it('sums apiserver_request_total by verb, for the lease resource only or for all', () => {
    expect(requestsByVerb(METRICS, ['leases'])).toEqual({ PUT: 123, WATCH: 40 });
    expect(requestsByVerb(METRICS)).toEqual({ PUT: 123, WATCH: 40, LIST: 7, GET: 2 });
    expect(requestsByCode(METRICS, ['leases'])).toEqual({ '200': 160, '409': 3 });
  });

  it('reads a gauge by its labels and subtracts counters key by key', () => {
    expect(gaugeSum(METRICS, 'apiserver_longrunning_requests', (l) => l.resource === 'leases')).toBe(800);
    expect(gaugeSum(METRICS, 'apiserver_longrunning_requests')).toBe(805);
    expect(delta({ PUT: 130, GET: 4 }, { PUT: 100 })).toEqual({ PUT: 30, GET: 4 });
  });

  it('reads utime+stime after the command name, even one with spaces and parentheses', () => {
    // Fields 14 and 15 (utime, stime) are 1234 and 56.
    const stat = '4242 (kube (api) server) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 12 0 500 1000000 2000';
    expect(cpuTicks(stat)).toBe(1290);
    expect(cpuPercent(1000, 1600, 60)).toBe(10); // 6 s of CPU in 60 s
    expect(rssMB('Name:\tetcd\nVmRSS:\t   51200 kB\nVmSwap:\t0 kB\n')).toBe(50);
  });

  it('takes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, unsorted
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('bench:scale contention and latency measures', () => {
  it("reads run and runnable-wait time from a thread's schedstat", () => {
    expect(schedstat('1500000000 500000000 42\n')).toEqual({ runNs: 1.5e9, waitNs: 5e8 });
  });

  it('takes a quantile of what a histogram gained between two scrapes, as histogram_quantile does', () => {
    const scrape = (counts: [string, number][]) =>
      counts.map(([le, n]) => `apiserver_request_duration_seconds_bucket{resource="leases",verb="PUT",le="${le}"} ${n}`).join('\n') +
      `\napiserver_request_duration_seconds_bucket{resource="pods",verb="PUT",le="+Inf"} 999`;
    const before = scrape([
      ['0.05', 10],
      ['0.1', 10],
      ['1', 10],
      ['+Inf', 10],
    ]);
    // Gained 100 observations: 50 under 50 ms, 40 in (50 ms, 100 ms], 10 in (100 ms, 1 s].
    const after = scrape([
      ['0.05', 60],
      ['0.1', 100],
      ['1', 110],
      ['+Inf', 110],
    ]);
    const leasePut = (l: Record<string, string>) => l.resource === 'leases' && l.verb === 'PUT';
    expect(histogramQuantile(before, after, 'apiserver_request_duration_seconds', leasePut, 0.5)).toBeCloseTo(0.05);
    expect(histogramQuantile(before, after, 'apiserver_request_duration_seconds', leasePut, 0.7)).toBeCloseTo(0.075);
    expect(histogramQuantile(before, after, 'apiserver_request_duration_seconds', leasePut, 0.99)).toBeCloseTo(0.91);
    expect(histogramQuantile(before, before, 'apiserver_request_duration_seconds', leasePut, 0.5)).toBeNaN();
  });
});

describe('bench:scale bunching of renewals', () => {
  it('tells renewals spread over the period from renewals sent together', () => {
    // 20 renewals every 100 ms for 2 s, evenly spread: every bin holds 20.
    const spread = Array.from({ length: 400 }, (_, i) => 1000 + i * 5);
    expect(bunching(spread, 100)).toEqual({ mean: 20, p99: 20, max: 20 });
    // 400 renewals over 1 s, half of them within 50 ms: that bin holds its own 20 and the 200 of the bunch.
    const bunched = [...spread.slice(0, 200), ...Array.from({ length: 200 }, (_, i) => 1500 + i * 0.25)];
    expect(bunching(bunched, 100)).toEqual({ mean: 40, p99: 220, max: 220 });
    expect(bunching([], 100).max).toBeNaN();
  });
});
