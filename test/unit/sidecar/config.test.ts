import { describe, expect, it } from 'vitest';
import { ConfigError, helpText, loadConfig, NamespaceUnknown, parseDuration, OPTIONS } from '../../../src/config.ts';

const base = { BATON_LEASE_NAME: 'my-bot', POD_NAMESPACE: 'bots', POD_NAME: 'bot-abc', BATON_TARGET_COMMAND: 'bot\\.js' };

function load(env: Record<string, string>, argv: string[] = []) {
  return loadConfig({ argv, env, readNamespaceFile: () => undefined, hostname: () => 'host-1' });
}

function problem(env: Record<string, string>, argv: string[] = []): string {
  try {
    load(env, argv);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('has the contract defaults', () => {
    const c = load(base);
    expect(c).toMatchObject({
      leaseName: 'my-bot',
      namespace: 'bots',
      identity: 'bot-abc',
      podName: 'bot-abc',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      startSignal: 'SIGUSR1',
      pauseSignal: 'SIGUSR2',
      listen: { host: '127.0.0.1', port: 4040 },
      probeListen: { host: '0.0.0.0', port: 4041 },
      logLevel: 'info',
      podLabel: true,
    });
    expect(c.target).toEqual({ kind: 'command', pattern: /bot\.js/ });
  });

  it('lets each flag override its variable', () => {
    const c = load(base, ['--lease-name', 'other', '--lease-duration', '20s', '--identity', 'me', '--listen', '[::1]:5050']);
    expect(c).toMatchObject({ leaseName: 'other', leaseDurationMs: 20_000, identity: 'me', listen: { host: '::1', port: 5050 } });
  });

  it('falls back to the hostname for identity and to the namespace file', () => {
    const c = loadConfig({
      argv: [],
      env: { BATON_LEASE_NAME: 'x', BATON_TARGET_PID_FILE: '/run/bot.pid' },
      readNamespaceFile: () => 'from-file',
      hostname: () => 'host-1',
    });
    expect(c).toMatchObject({ namespace: 'from-file', identity: 'host-1', podName: undefined, target: { kind: 'pidFile', path: '/run/bot.pid' } });
  });

  it('takes the namespace from the connection last: asks for it (NamespaceUnknown) only when a kubeconfig is in use and all else is valid', () => {
    const env = { BATON_LEASE_NAME: 'x', BATON_TARGET_PID_FILE: '/run/bot.pid', KUBECONFIG: '/k/config' };
    const args = { argv: [], readNamespaceFile: () => undefined, hostname: () => 'host-1' };
    const unknown = (() => {
      try {
        return loadConfig({ ...args, env });
      } catch (err) {
        return err;
      }
    })();
    expect(unknown).toBeInstanceOf(NamespaceUnknown);
    expect((unknown as NamespaceUnknown).kubeconfig).toBe('/k/config');
    expect(loadConfig({ ...args, env, connectionNamespace: 'ctx-ns' }).namespace).toBe('ctx-ns');
    // Another bad setting is reported first, before the connection is loaded.
    expect(() => loadConfig({ ...args, env: { ...env, BATON_DRAIN: '5' } })).toThrow(/BATON_DRAIN/);
    // The connection named none either: a plain ConfigError naming the fix.
    expect(() => loadConfig({ ...args, env, connectionNamespace: '' })).toThrow(/set BATON_NAMESPACE/);
    expect(() => loadConfig({ ...args, env, connectionNamespace: '' })).not.toThrow(NamespaceUnknown);
    expect(() => loadConfig({ ...args, env: { BATON_LEASE_NAME: 'x', BATON_TARGET_PID_FILE: '/p' } })).not.toThrow(NamespaceUnknown);
  });

  it('parses durations with units and refuses bare numbers', () => {
    expect(parseDuration('1m30s', 'X')).toBe(90_000);
    expect(parseDuration('500ms', 'X')).toBe(500);
    expect(() => parseDuration('15', 'BATON_DRAIN')).toThrow(/BATON_DRAIN="15" is not a duration: write it with a unit/);
  });

  it.each([
    [{ BATON_LEASE_NAME: '' }, /BATON_LEASE_NAME is required/],
    [{ BATON_LEASE_NAME: 'Bad_Name' }, /BATON_LEASE_NAME="Bad_Name" is not a valid object name/],
    [{ BATON_RENEW_DEADLINE: '20s' }, /BATON_LEASE_DURATION .* must be greater than BATON_RENEW_DEADLINE/],
    [{ BATON_RETRY_PERIOD: '9s' }, /1.2 × BATON_RETRY_PERIOD/],
    [{ BATON_LEASE_DURATION: '10500ms' }, /at least 1000 ms|whole seconds/],
    [{ BATON_TARGET_COMMAND: '' }, /no worker target: set exactly one of BATON_TARGET_CONTAINER/],
    [{ BATON_TARGET_PID_FILE: '/x' }, /BATON_TARGET_COMMAND and BATON_TARGET_PID_FILE are both set/],
    [{ BATON_TARGET_COMMAND: '(' }, /BATON_TARGET_COMMAND="\(" is not a valid regular expression/],
    [{ BATON_START_SIGNAL: 'SIGKILL' }, /BATON_START_SIGNAL="SIGKILL" is not a usable signal/],
    [{ BATON_PAUSE_SIGNAL: 'SIGUSR1' }, /must differ/],
    [{ BATON_LISTEN: '0.0.0.0:4040' }, /BATON_LISTEN=0.0.0.0:4040 is not a loopback address/],
    [{ BATON_PROBE_LISTEN: '127.0.0.1:4040' }, /both use port 4040/],
    [{ BATON_LOG_LEVEL: 'loud' }, /BATON_LOG_LEVEL="loud" is not a level/],
    [{ BATON_POD_LABEL: 'no' }, /BATON_POD_LABEL="no" is not true or false/],
    [{ BATON_YIELD_TO_NEWER: 'soon' }, /BATON_YIELD_TO_NEWER="soon" is not a duration: .*, or off to hand over only when the Pod ends/],
    [{ BATON_TAKEOVER: 'fast' }, /BATON_TAKEOVER="fast" is not a duration: .*, or off to release only/],
    [{ BATON_TAKEOVER: '2s' }, /BATON_TAKEOVER=2s is outside \(0, 1s\]: the leader does not renew while its word waits; use e\.g\. 300ms, or off/],
    [{ BATON_TAKEOVER: '0s' }, /BATON_TAKEOVER=0s is outside \(0, 1s\]/],
    // Issue 9, item 10 (rule C3): settings that would silently turn the start-only-on-proof-of-pause rule off.
    [{ BATON_PAUSE_ACK_TIMEOUT: '0s', BATON_DRAIN: '0s' }, /BATON_PAUSE_ACK_TIMEOUT=0s .* at least 100ms/],
    [{ BATON_DRAIN: '0s' }, /BATON_DRAIN=0s .* at least 100ms/],
    [{ BATON_PAUSE_ACK_TIMEOUT: '10ms' }, /BATON_PAUSE_ACK_TIMEOUT=10ms .* at least 100ms/],
    [{ BATON_RETRY_PERIOD: '1ms' }, /BATON_RETRY_PERIOD=1ms .* at least 100ms/],
    [{ BATON_START_SIGNAL: 'SIGCONT' }, /BATON_START_SIGNAL="SIGCONT" is not a usable signal: use SIGUSR1, SIGUSR2/],
    [{ BATON_PAUSE_SIGNAL: 'SIGCHLD' }, /BATON_PAUSE_SIGNAL="SIGCHLD" is not a usable signal/],
    [{ BATON_PAUSE_SIGNAL: 'SIGSEGV' }, /BATON_PAUSE_SIGNAL="SIGSEGV" is not a usable signal/],
    [{ BATON_START_SIGNAL: 'SIGSTOP' }, /is not a usable signal/],
    [{ BATON_START_SIGNAL: 'SIGWINCH' }, /is not a usable signal/],
    [{ BATON_START_SIGNAL: 'SIGQUIT' }, /is not a usable signal/],
    [{ BATON_WORKER_GRACE: '0s' }, /BATON_WORKER_GRACE=0s .* at least/],
  ])('refuses %j with a message that names the variable', (env, message) => {
    expect(problem({ ...base, ...env })).toMatch(message);
  });

  describe('BATON_RENEW_INTERVAL (issue 20, item 4)', () => {
    it('defaults to a third of the lease duration: 5 s with the default 15 s', () => {
      expect(load(base).renewIntervalMs).toBe(5_000);
      expect(load({ ...base, BATON_LEASE_DURATION: '30s', BATON_RENEW_DEADLINE: '20s' }).renewIntervalMs).toBe(10_000);
      // Whole milliseconds, rounded down: a renew a little early never hurts.
      expect(load({ ...base, BATON_LEASE_DURATION: '10s', BATON_RENEW_DEADLINE: '7s', BATON_RETRY_PERIOD: '1s' }).renewIntervalMs).toBe(3_333);
    });

    it('is read from the variable and from --renew-interval (the flag wins)', () => {
      expect(load({ ...base, BATON_RENEW_INTERVAL: '4s' }).renewIntervalMs).toBe(4_000);
      expect(load({ ...base, BATON_RENEW_INTERVAL: '4s' }, ['--renew-interval', '2500ms']).renewIntervalMs).toBe(2_500);
      // The retry period is always allowed: client-go's cadence, as before the renew interval existed.
      expect(load({ ...base, BATON_RENEW_INTERVAL: '2s' }).renewIntervalMs).toBe(2_000);
    });

    it('keeps a default inside the valid range when the other timings leave less room, down to the retry period', () => {
      // A third of 15 s would leave no retry before a 6 s deadline: the largest interval that does (6 − 2 − 1 s).
      expect(load({ ...base, BATON_RENEW_DEADLINE: '6s' }).renewIntervalMs).toBe(3_000);
      // Timings client-go accepts but with no room for a longer interval: the retry period, as before.
      expect(load({ ...base, BATON_RENEW_DEADLINE: '10s', BATON_RETRY_PERIOD: '5s' }).renewIntervalMs).toBe(5_000);
      expect(load({ ...base, BATON_LEASE_DURATION: '4s', BATON_RENEW_DEADLINE: '3s', BATON_RETRY_PERIOD: '1s' }).renewIntervalMs).toBe(1_000);
    });

    it.each([
      [{ BATON_RENEW_INTERVAL: '1s' }, /BATON_RENEW_INTERVAL \(1000 ms\) must be at least BATON_RETRY_PERIOD \(2000 ms\)/],
      [{ BATON_RENEW_INTERVAL: '10s' }, /BATON_RENEW_INTERVAL \(10000 ms\) must be less than BATON_RENEW_DEADLINE \(10000 ms\)/],
      [
        { BATON_RENEW_INTERVAL: '7001ms' },
        /BATON_RENEW_INTERVAL \(7001 ms\) \+ BATON_RETRY_PERIOD \(2000 ms\) \+ 1000 ms must not exceed BATON_RENEW_DEADLINE \(10000 ms\).*set BATON_RENEW_INTERVAL to at most 7000ms/,
      ],
      [{ BATON_RENEW_INTERVAL: 'often' }, /BATON_RENEW_INTERVAL="often" is not a duration/],
    ])('refuses %j with a message that names the fix', (env, message) => {
      expect(problem({ ...base, ...env })).toMatch(message);
    });

    it('accepts the largest interval that keeps a retry before the deadline', () => {
      expect(load({ ...base, BATON_RENEW_INTERVAL: '7s' }).renewIntervalMs).toBe(7_000);
    });
  });

  it('turns the pod label off with BATON_POD_LABEL=false (or --pod-label false)', () => {
    expect(load({ ...base, BATON_POD_LABEL: 'false' }).podLabel).toBe(false);
    expect(load(base, ['--pod-label', 'false']).podLabel).toBe(false);
    expect(load({ ...base, BATON_POD_LABEL: 'true' }).podLabel).toBe(true);
  });

  it('Y1: BATON_YIELD_TO_NEWER is 1s by default, a duration, or off; without POD_NAME it is off (but still judged)', () => {
    expect(load(base).yieldDelayMs).toBe(1_000);
    expect(load({ ...base, BATON_YIELD_TO_NEWER: '250ms' }).yieldDelayMs).toBe(250);
    expect(load(base, ['--yield-to-newer', 'off']).yieldDelayMs).toBeUndefined();
    const { POD_NAME: _, ...local } = base;
    expect(load(local).yieldDelayMs).toBeUndefined();
    expect(problem({ ...local, BATON_YIELD_TO_NEWER: 'soon' })).toMatch(/BATON_YIELD_TO_NEWER="soon" is not a duration/);
  });

  it('W1: BATON_TAKEOVER is 300ms by default, a duration up to 1s, or off; without POD_NAME it is off (but still judged)', () => {
    expect(load(base).takeoverOfferMs).toBe(300);
    expect(load({ ...base, BATON_TAKEOVER: '1s' }).takeoverOfferMs).toBe(1_000);
    expect(load(base, ['--takeover', 'off']).takeoverOfferMs).toBeUndefined();
    const { POD_NAME: _, ...local } = base;
    expect(load(local).takeoverOfferMs).toBeUndefined();
    expect(problem({ ...local, BATON_TAKEOVER: '5s' })).toMatch(/BATON_TAKEOVER=5s is outside/);
  });

  it('accepts the catchable, harmless signals and a worker grace', () => {
    expect(load({ ...base, BATON_START_SIGNAL: 'HUP', BATON_PAUSE_SIGNAL: 'SIGALRM' })).toMatchObject({
      startSignal: 'SIGHUP',
      pauseSignal: 'SIGALRM',
      workerGraceMs: 5_000,
    });
    expect(load({ ...base, BATON_WORKER_GRACE: '10s' }).workerGraceMs).toBe(10_000);
  });

  it('needs POD_NAME for a container target', () => {
    expect(problem({ ...base, POD_NAME: '', BATON_TARGET_COMMAND: '', BATON_TARGET_CONTAINER: 'bot' })).toMatch(/BATON_TARGET_CONTAINER needs POD_NAME/);
  });

  it('refuses unknown flags and stray arguments', () => {
    expect(problem(base, ['--lease-nmae', 'x'])).toMatch(/see baton --help/);
    expect(problem(base, ['extra'])).toMatch(/unexpected argument "extra"/);
  });

  it('lists every setting with its flag, variable and default in --help', () => {
    const text = helpText();
    for (const o of OPTIONS) {
      expect(text).toContain(`--${o.flag}`);
      expect(text).toContain(o.env);
      if (o.default) expect(text).toContain(`[default ${o.default}]`);
    }
  });
});
