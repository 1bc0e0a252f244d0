import { describe, expect, it } from 'vitest';
import { ConfigError, helpText, loadConfig, parseDuration, OPTIONS } from '../../src/config.ts';

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
    const c = loadConfig({ argv: [], env: { BATON_LEASE_NAME: 'x', BATON_TARGET_PID_FILE: '/run/bot.pid' }, readNamespaceFile: () => 'from-file', hostname: () => 'host-1' });
    expect(c).toMatchObject({ namespace: 'from-file', identity: 'host-1', podName: undefined, target: { kind: 'pidFile', path: '/run/bot.pid' } });
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

  it('turns the pod label off with BATON_POD_LABEL=false (or --pod-label false)', () => {
    expect(load({ ...base, BATON_POD_LABEL: 'false' }).podLabel).toBe(false);
    expect(load(base, ['--pod-label', 'false']).podLabel).toBe(false);
    expect(load({ ...base, BATON_POD_LABEL: 'true' }).podLabel).toBe(true);
  });

  it('accepts the catchable, harmless signals and a worker grace', () => {
    expect(load({ ...base, BATON_START_SIGNAL: 'HUP', BATON_PAUSE_SIGNAL: 'SIGALRM' })).toMatchObject({ startSignal: 'SIGHUP', pauseSignal: 'SIGALRM', workerGraceMs: 5_000 });
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
