// Every sidecar setting the sidecar would refuse at startup (src/config.ts: exit 2, a crash-looping pod) is
// refused by the chart at render time with the sidecar's own words, prefixed by the value's path. Each case
// feeds the same bad value to loadConfig (as the chart would set it) and to helm template, and compares.
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { CHART_BASE_VALUES, CHART_DIR, ensureHelm, helm } from '../../kube/helm.ts';

let helmBin: string;
beforeAll(async () => {
  helmBin = await ensureHelm();
}, 900_000);

/** The environment the chart gives the sidecar with its defaults (release "x", so Lease "x-baton"). */
const chartEnv = {
  POD_NAME: 'x-abc',
  POD_NAMESPACE: 'bots',
  BATON_LEASE_NAME: 'x-baton',
  BATON_TARGET_CONTAINER: 'bot',
  BATON_LEASE_DURATION: '15s',
  BATON_RENEW_DEADLINE: '10s',
  BATON_RETRY_PERIOD: '2s',
  BATON_PAUSE_ACK_TIMEOUT: '15s',
  BATON_DRAIN: '5s',
  BATON_START_SIGNAL: 'SIGUSR1',
  BATON_PAUSE_SIGNAL: 'SIGUSR2',
  BATON_LISTEN: '127.0.0.1:4040',
  BATON_PROBE_LISTEN: '0.0.0.0:4041',
  BATON_LOG_LEVEL: 'info',
};

function sidecarRefusal(env: Record<string, string>): string {
  try {
    loadConfig({ argv: [], env: { ...chartEnv, ...env }, readNamespaceFile: () => undefined });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`the sidecar accepts ${JSON.stringify(env)}`);
}

// [helm --set, the value's path in the message, the sidecar's environment for the same value]
const cases: Array<[string[], string, Record<string, string>]> = [
  [['sidecar.startSignal=SIGFOO'], 'sidecar.startSignal', { BATON_START_SIGNAL: 'SIGFOO' }],
  [['sidecar.pauseSignal=SIGKILL'], 'sidecar.pauseSignal', { BATON_PAUSE_SIGNAL: 'SIGKILL' }],
  [['sidecar.pauseSignal=term'], 'sidecar.pauseSignal', { BATON_PAUSE_SIGNAL: 'term' }],
  [['sidecar.startSignal=usr2'], 'sidecar.startSignal/pauseSignal', { BATON_START_SIGNAL: 'usr2' }],
  [['sidecar.drain=5'], 'sidecar.drain', { BATON_DRAIN: '5' }],
  [['sidecar.pauseAckTimeout=soon'], 'sidecar.pauseAckTimeout', { BATON_PAUSE_ACK_TIMEOUT: 'soon' }],
  [['sidecar.leaseDuration=15'], 'sidecar.leaseDuration', { BATON_LEASE_DURATION: '15' }],
  [['sidecar.renewDeadline=20s'], 'sidecar.leaseDuration/renewDeadline/retryPeriod', { BATON_RENEW_DEADLINE: '20s' }],
  [['sidecar.renewDeadline=14.5s'], 'sidecar.leaseDuration/renewDeadline/retryPeriod', { BATON_RENEW_DEADLINE: '14.5s' }],
  [['sidecar.retryPeriod=9s'], 'sidecar.leaseDuration/renewDeadline/retryPeriod', { BATON_RETRY_PERIOD: '9s' }],
  [['sidecar.retryPeriod=0s'], 'sidecar.retryPeriod', { BATON_RETRY_PERIOD: '0s' }],
  // Rule C3 (docs/protocol.md): settings that would turn start-only-on-proof-of-pause off.
  [['sidecar.retryPeriod=1ms'], 'sidecar.retryPeriod', { BATON_RETRY_PERIOD: '1ms' }],
  [['sidecar.startSignal=SIGCONT'], 'sidecar.startSignal', { BATON_START_SIGNAL: 'SIGCONT' }],
  [['sidecar.pauseSignal=SIGSEGV'], 'sidecar.pauseSignal', { BATON_PAUSE_SIGNAL: 'SIGSEGV' }],
  [['sidecar.pauseAckTimeout=0s', 'sidecar.drain=0s'], 'sidecar.pauseAckTimeout', { BATON_PAUSE_ACK_TIMEOUT: '0s', BATON_DRAIN: '0s' }],
  [['sidecar.drain=50ms'], 'sidecar.drain', { BATON_DRAIN: '50ms' }],
  [['sidecar.workerGrace=0s'], 'sidecar.workerGrace', { BATON_WORKER_GRACE: '0s' }],
  [['sidecar.leaseDuration=15500ms'], 'sidecar.leaseDuration/renewDeadline/retryPeriod', { BATON_LEASE_DURATION: '15500ms' }],
  // Rule R1 (docs/protocol.md): the renew interval's range.
  [['sidecar.renewInterval=1s'], 'sidecar.renewInterval', { BATON_RENEW_INTERVAL: '1s' }],
  [['sidecar.renewInterval=10s'], 'sidecar.renewInterval', { BATON_RENEW_INTERVAL: '10s' }],
  [['sidecar.renewInterval=7001ms'], 'sidecar.renewInterval', { BATON_RENEW_INTERVAL: '7001ms' }],
  [['sidecar.renewInterval=6.5s', 'sidecar.renewDeadline=8s'], 'sidecar.renewInterval', { BATON_RENEW_INTERVAL: '6.5s', BATON_RENEW_DEADLINE: '8s' }],
  [['sidecar.renewInterval=often'], 'sidecar.renewInterval', { BATON_RENEW_INTERVAL: 'often' }],
  [['sidecar.listen=0.0.0.0:4040'], 'sidecar.listen', { BATON_LISTEN: '0.0.0.0:4040' }],
  [['sidecar.listen=localhost'], 'sidecar.listen', { BATON_LISTEN: 'localhost' }],
  [['sidecar.listen=127.0.0.1:99999'], 'sidecar.listen', { BATON_LISTEN: '127.0.0.1:99999' }],
  [['sidecar.listen=127.0.0.1:4041'], 'sidecar.listen/probePort', { BATON_LISTEN: '127.0.0.1:4041' }],
  [['sidecar.logLevel=loud'], 'sidecar.logLevel', { BATON_LOG_LEVEL: 'loud' }],
  [['leaseName=My_Bot'], 'leaseName', { BATON_LEASE_NAME: 'My_Bot' }],
];

describe("the chart refuses what the sidecar refuses, in the sidecar's words", () => {
  for (const [set, path, env] of cases) {
    it(`${set.join(' ')}`, async () => {
      const words = sidecarRefusal(env);
      const r = await helm(helmBin, [
        'template',
        'x',
        CHART_DIR,
        '--namespace',
        'bots',
        '--kube-version',
        '1.37.2',
        '-f',
        CHART_BASE_VALUES,
        ...set.flatMap((s) => ['--set', s]),
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`${path}: ${words}`);
    });
  }

  it('and accepts what the sidecar accepts: IPv6 loopback, lower-case signal names, fractional durations', async () => {
    const set = [
      'sidecar.listen=[::1]:4040',
      'sidecar.startSignal=usr1',
      'sidecar.pauseSignal=SIGHUP',
      'sidecar.drain=1.5s',
      'sidecar.retryPeriod=1500ms',
      'sidecar.renewInterval=7.5s',
    ];
    expect(() =>
      loadConfig({
        argv: [],
        env: {
          ...chartEnv,
          BATON_LISTEN: '[::1]:4040',
          BATON_START_SIGNAL: 'usr1',
          BATON_PAUSE_SIGNAL: 'SIGHUP',
          BATON_DRAIN: '1.5s',
          BATON_RETRY_PERIOD: '1500ms',
          BATON_RENEW_INTERVAL: '7.5s',
        },
        readNamespaceFile: () => undefined,
      }),
    ).not.toThrow();
    const r = await helm(helmBin, ['template', 'x', CHART_DIR, '--kube-version', '1.37.2', '-f', CHART_BASE_VALUES, ...set.flatMap((s) => ['--set', s])]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // R1: a renew interval set reaches the sidecar; left empty, the sidecar's own default (a third of the lease) applies.
    expect(r.stdout).toMatch(/- name: BATON_RENEW_INTERVAL\n\s+value: "7.5s"/);
    const plain = await helm(helmBin, ['template', 'x', CHART_DIR, '--kube-version', '1.37.2', '-f', CHART_BASE_VALUES]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('BATON_RENEW_INTERVAL');
  });
});
