// Configuration: environment variables, each with a matching flag (the flag wins). Every problem is
// one sentence that names the variable and the fix; the CLI prints it and exits 2 before starting anything.
import { hostname } from 'node:os';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import {
  DEFAULT_DRAIN_MS,
  DEFAULT_LISTEN,
  DEFAULT_LOG_LEVEL,
  DEFAULT_PAUSE_ACK_TIMEOUT_MS,
  DEFAULT_PAUSE_SIGNAL,
  DEFAULT_POD_LABEL,
  DEFAULT_YIELD_DELAY_MS,
  DEFAULT_TAKEOVER_OFFER_MS,
  MAX_TAKEOVER_OFFER_MS,
  DEFAULT_PROBE_LISTEN,
  DEFAULT_START_SIGNAL,
  DEFAULT_TIMINGS,
  DEFAULT_WORKER_GRACE_MS,
} from './defaults.ts';
import { defaultRenewIntervalMs, timingProblems } from './election/rules.ts';
import { BAD_FETCH_PORTS, isLoopbackHost, parseHostPort, type HostPort } from './host-port.ts';
import { inClusterNamespace } from './service-account.ts';
import type { TargetSelector } from './worker/target.ts';

export interface BatonConfig {
  leaseName: string;
  namespace: string;
  identity: string;
  /** The own Pod (for its label, its deletionTimestamp and Events); undefined outside a pod. */
  podName: string | undefined;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** How long after a successful renew the leader renews again (BATON_RENEW_INTERVAL; a failed one is retried every retry period). */
  renewIntervalMs: number;
  target: TargetSelector;
  startSignal: NodeJS.Signals;
  pauseSignal: NodeJS.Signals;
  pauseAckTimeoutMs: number;
  drainMs: number;
  /** How long a leader's worker may be gone (not found, or no handlers) before the leader steps aside (rule L1). */
  workerGraceMs: number;
  listen: HostPort;
  probeListen: HostPort;
  kubeconfig: string | undefined;
  logLevel: string;
  /** Keep the label `baton/role` on the own Pod (BATON_POD_LABEL); false: never patch a pod. */
  podLabel: boolean;
  /**
   * Rule Y1 (BATON_YIELD_TO_NEWER): how long after a Ready pod of a newer revision appears the leader hands
   * over to it; undefined: off (`off`, or no POD_NAME to find the own Pod among its peers).
   */
  yieldDelayMs: number | undefined;
  /**
   * Rule W1 (BATON_TAKEOVER): how long a leader's word waits for a standby to take over before it releases;
   * undefined: off (`off`, or no POD_NAME to find the peers by).
   */
  takeoverOfferMs: number | undefined;
}

interface Option {
  env: string;
  flag: string;
  default?: string;
  help: string;
}

/** Writes a duration as `parseDuration` reads it and `--help` shows it: 15000 → `15s`, 500 → `500ms`. */
function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Every setting, in the order `--help` lists them; the defaults come from src/defaults.ts. */
export const OPTIONS: readonly Option[] = [
  { env: 'BATON_LEASE_NAME', flag: 'lease-name', help: 'name of the coordination.k8s.io/v1 Lease (required)' },
  {
    env: 'BATON_NAMESPACE',
    flag: 'namespace',
    help: 'namespace of the Lease (default: POD_NAMESPACE, then the in-cluster namespace file, then the kubeconfig context)',
  },
  { env: 'BATON_IDENTITY', flag: 'identity', help: 'holder identity written to the Lease (default: POD_NAME, then the hostname)' },
  {
    env: 'BATON_LEASE_DURATION',
    flag: 'lease-duration',
    default: durationText(DEFAULT_TIMINGS.leaseDurationMs),
    help: 'how long a claim lasts without renewal; a standby takes an unrenewed Lease after this',
  },
  {
    env: 'BATON_RENEW_DEADLINE',
    flag: 'renew-deadline',
    default: durationText(DEFAULT_TIMINGS.renewDeadlineMs),
    help: 'a leader that could not renew for this long pauses its worker and steps down',
  },
  {
    env: 'BATON_RETRY_PERIOD',
    flag: 'retry-period',
    default: durationText(DEFAULT_TIMINGS.retryPeriodMs),
    help: 'how soon a leader retries a failed renew; the backstop retry interval of a standby (jittered)',
  },
  {
    env: 'BATON_RENEW_INTERVAL',
    flag: 'renew-interval',
    help: 'how long after a successful renew the leader renews again (default: a third of the lease duration, 5s with 15s)',
  },
  { env: 'BATON_TARGET_CONTAINER', flag: 'target-container', help: 'the worker is the process of this container of the pod (needs POD_NAME)' },
  { env: 'BATON_TARGET_COMMAND', flag: 'target-command', help: 'the worker is the process whose /proc/PID/cmdline matches this regular expression' },
  { env: 'BATON_TARGET_PID_FILE', flag: 'target-pid-file', help: 'the worker is the process whose PID this file holds' },
  { env: 'BATON_START_SIGNAL', flag: 'start-signal', default: DEFAULT_START_SIGNAL, help: 'signal that tells the worker to start polling' },
  { env: 'BATON_PAUSE_SIGNAL', flag: 'pause-signal', default: DEFAULT_PAUSE_SIGNAL, help: 'signal that tells the worker to pause polling' },
  {
    env: 'BATON_PAUSE_ACK_TIMEOUT',
    flag: 'pause-ack-timeout',
    default: durationText(DEFAULT_PAUSE_ACK_TIMEOUT_MS),
    help: 'how long a handoff waits for a confirming worker to POST /paused',
  },
  { env: 'BATON_DRAIN', flag: 'drain', default: durationText(DEFAULT_DRAIN_MS), help: 'how long a handoff waits when the worker has never confirmed a pause' },
  {
    env: 'BATON_WORKER_GRACE',
    flag: 'worker-grace',
    default: durationText(DEFAULT_WORKER_GRACE_MS),
    help: 'a leader whose worker has been gone (not found, or no handlers) this long releases the Lease to a standby',
  },
  { env: 'BATON_LISTEN', flag: 'listen', default: DEFAULT_LISTEN, help: 'local API (GET /leader, POST /paused, probes); loopback only' },
  {
    env: 'BATON_PROBE_LISTEN',
    flag: 'probe-listen',
    default: DEFAULT_PROBE_LISTEN,
    help: 'read-only GET /healthz, /readyz, /metrics for the kubelet and Prometheus',
  },
  { env: 'KUBECONFIG', flag: 'kubeconfig', help: 'kubeconfig file when running outside a cluster (in-cluster configuration otherwise)' },
  { env: 'BATON_LOG_LEVEL', flag: 'log-level', default: DEFAULT_LOG_LEVEL, help: 'trace, debug, info, warn, error or fatal' },
  {
    env: 'BATON_POD_LABEL',
    flag: 'pod-label',
    default: String(DEFAULT_POD_LABEL),
    help: 'keep the label baton/role (leader/standby) on the own Pod; false: never patch a pod (no `patch pods` needed)',
  },
  {
    env: 'BATON_YIELD_TO_NEWER',
    flag: 'yield-to-newer',
    default: durationText(DEFAULT_YIELD_DELAY_MS),
    help:
      'the leader hands over this long after a pod of a newer revision (pod-template-hash) of the same Lease (label baton/lease) ' +
      'turns Ready, before its own Pod is deleted; off: only on SIGTERM or deletion (needs POD_NAME and list/watch pods)',
  },
  {
    env: 'BATON_TAKEOVER',
    flag: 'takeover',
    default: durationText(DEFAULT_TAKEOVER_OFFER_MS),
    help:
      'a leader handing over first tells the Ready pods of its Lease (POST /takeover on BATON_PROBE_LISTEN) that its worker paused, ' +
      'so one takes the Lease in one write; it releases as before if none did within this; off: release only ' +
      `(at most ${durationText(MAX_TAKEOVER_OFFER_MS)}; needs POD_NAME and list/watch pods)`,
  },
];

/** A bad setting. The CLI prints `message` and exits 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Every setting is valid but the namespace is known only from the kubeconfig: load the connection and
 * call `loadConfig` again with its `connectionNamespace`.
 */
export class NamespaceUnknown extends ConfigError {
  override name = 'NamespaceUnknown';
  /** The KUBECONFIG setting whose connection names the namespace. */
  readonly kubeconfig: string;

  constructor(message: string, kubeconfig: string) {
    super(message);
    this.kubeconfig = kubeconfig;
  }
}

export function helpText(): string {
  const lines = [
    'baton — hands a long-polling worker from pod to pod with a Kubernetes Lease.',
    '',
    'Usage: baton [--flag value ...]   (every flag can be set by its environment variable instead)',
    '',
  ];
  for (const o of OPTIONS) {
    lines.push(`  --${o.flag.padEnd(19)} ${o.env.padEnd(24)} ${o.help}${o.default ? ` [default ${o.default}]` : ''}`);
  }
  lines.push('', 'Exactly one of BATON_TARGET_CONTAINER, BATON_TARGET_COMMAND and BATON_TARGET_PID_FILE is required.');
  lines.push('Durations read like 15s, 500ms, 1m30s.', '');
  return lines.join('\n');
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `15s`, `500ms`, `1m30s`. A bare number is refused: its unit would be a guess. */
export function parseDuration(value: string, name: string, orElse = ''): number {
  const text = value.trim();
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (text === '' || matched !== text.length) {
    throw new ConfigError(`${name}=${JSON.stringify(value)} is not a duration: write it with a unit, like 15s, 500ms or 1m30s${orElse ? `, ${orElse}` : ''}`);
  }
  return total;
}

/**
 * `host:port` as the servers parse it (src/host-port.ts), refused as a ConfigError naming the variable.
 * A Fetch "bad port" is refused too: the worker kit reaches BATON_LISTEN with `fetch`, which will not
 * connect to it; BATON_PROBE_LISTEN follows the same rule, since a browser or a fetch-based checker (and
 * `kubectl port-forward`, which keeps the port number) could not reach it either, and another port costs nothing.
 */
function hostPortSetting(value: string, name: string): HostPort {
  let hostPort: HostPort;
  try {
    hostPort = parseHostPort(value, name);
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}: fix ${name}`);
  }
  if (BAD_FETCH_PORTS.has(hostPort.port)) {
    throw new ConfigError(
      `${name}=${value.trim()} uses port ${hostPort.port}, a "bad port" of the Fetch standard ` +
        `that Node's fetch (the worker kit's client) and browsers refuse to connect to: ` +
        `choose another port, e.g. ${name === 'BATON_LISTEN' ? '4040' : '4041'}`,
    );
  }
  return hostPort;
}

/**
 * Rule C3: the start and pause signals a worker may be sent. Only signals a process can catch, whose
 * default action is to terminate (so a worker without handlers dies loudly instead of silently ignoring
 * a pause), and that mean nothing else: not SIGKILL/SIGSTOP (cannot be caught), SIGCONT/SIGCHLD/SIGWINCH/
 * SIGURG (ignored by default, and sent by the system), SIGTSTP/SIGTTIN/SIGTTOU (stop the process),
 * SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGABRT/SIGTRAP/SIGSYS/SIGQUIT/SIGXCPU/SIGXFSZ (faults and core dumps),
 * SIGTERM/SIGINT (shutdown), SIGPIPE (ignored by Node), SIGPROF (profilers).
 */
export const WORKER_SIGNALS: readonly NodeJS.Signals[] = ['SIGUSR1', 'SIGUSR2', 'SIGHUP', 'SIGALRM', 'SIGVTALRM'];

function parseSignal(value: string, name: string): NodeJS.Signals {
  const sig = value.trim().toUpperCase();
  const full = sig.startsWith('SIG') ? sig : `SIG${sig}`;
  if (!(full in constants.signals) || !WORKER_SIGNALS.includes(full as NodeJS.Signals)) {
    throw new ConfigError(
      `${name}=${JSON.stringify(value)} is not a usable signal: use ${WORKER_SIGNALS.join(', ')} (catchable, and fatal to a worker that forgot its handler)`,
    );
  }
  return full as NodeJS.Signals;
}

/** Rule C3: the least wait that still lets a pause land, and the least retry period worth a write. */
export const MIN_PAUSE_WAIT_MS = 100;
export const MIN_RETRY_PERIOD_MS = 100;
export const MIN_WORKER_GRACE_MS = 1000;

function atLeast(ms: number, min: number, name: string, raw: string, why: string): void {
  if (ms < min) throw new ConfigError(`${name}=${raw.trim()} ${why}: set at least ${min}ms`);
}

export interface LoadSources {
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Reads the in-cluster namespace file; injectable for tests. */
  readNamespaceFile?: () => string | undefined;
  /**
   * The namespace of the loaded connection (its kubeconfig context's), the last default. The CLI loads the
   * connection only after the settings are valid, so a first call leaves this out and gets a
   * `NamespaceUnknown` error when nothing else names the namespace and a kubeconfig is in use.
   */
  connectionNamespace?: string;
  hostname?: () => string;
}

/** Reads flags and environment into a validated config, or throws one `ConfigError` naming the fix. */
export function loadConfig(src: LoadSources): BatonConfig {
  const flags = parseFlags(src.argv);
  const get = (env: string): string | undefined => {
    const o = OPTIONS.find((x) => x.env === env)!;
    const v = flags[o.flag] ?? src.env[env];
    return v === undefined || v === '' ? o.default : v;
  };

  const leaseName = get('BATON_LEASE_NAME');
  if (!leaseName) throw new ConfigError('BATON_LEASE_NAME is required: set it (or --lease-name) to the name of the Lease the replicas share, e.g. my-bot');
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(leaseName)) {
    throw new ConfigError(`BATON_LEASE_NAME=${JSON.stringify(leaseName)} is not a valid object name: use lower-case letters, digits, '-' and '.'`);
  }

  const kubeconfig = get('KUBECONFIG');
  const readNs = src.readNamespaceFile ?? (() => inClusterNamespace());
  const namespace = get('BATON_NAMESPACE') || src.env.POD_NAMESPACE || readNs() || src.connectionNamespace;

  const podName = src.env.POD_NAME || undefined;
  const identity = get('BATON_IDENTITY') || podName || (src.hostname ?? hostname)();

  const leaseDurationMs = parseDuration(get('BATON_LEASE_DURATION')!, 'BATON_LEASE_DURATION');
  const renewDeadlineMs = parseDuration(get('BATON_RENEW_DEADLINE')!, 'BATON_RENEW_DEADLINE');
  const retryPeriodMs = parseDuration(get('BATON_RETRY_PERIOD')!, 'BATON_RETRY_PERIOD');
  atLeast(retryPeriodMs, MIN_RETRY_PERIOD_MS, 'BATON_RETRY_PERIOD', get('BATON_RETRY_PERIOD')!, 'would write the Lease (and wake every standby) that often');
  // R1: unset, a third of the lease duration, kept inside the range the timings allow (never refused).
  const renewIntervalText = get('BATON_RENEW_INTERVAL');
  const renewIntervalMs =
    renewIntervalText === undefined
      ? defaultRenewIntervalMs({ leaseDurationMs, renewDeadlineMs, retryPeriodMs })
      : parseDuration(renewIntervalText, 'BATON_RENEW_INTERVAL');
  const problems = timingProblems({ leaseDurationMs, renewDeadlineMs, retryPeriodMs, renewIntervalMs });
  if (problems.length > 0) throw new ConfigError(problems[0]);

  const targets = (['BATON_TARGET_CONTAINER', 'BATON_TARGET_COMMAND', 'BATON_TARGET_PID_FILE'] as const).filter((k) => get(k));
  if (targets.length !== 1) {
    throw new ConfigError(
      targets.length === 0
        ? 'no worker target: set exactly one of BATON_TARGET_CONTAINER (the bot container name), ' +
            'BATON_TARGET_COMMAND (a regular expression on its command line) or BATON_TARGET_PID_FILE'
        : `${targets.join(' and ')} are both set: set exactly one worker target`,
    );
  }
  let target: TargetSelector;
  const which = targets[0]!;
  const value = get(which)!;
  if (which === 'BATON_TARGET_CONTAINER') {
    if (!podName)
      throw new ConfigError(
        'BATON_TARGET_CONTAINER needs POD_NAME (from the downward API) to read the container IDs from the Pod: set POD_NAME, or use BATON_TARGET_COMMAND',
      );
    target = { kind: 'container', name: value };
  } else if (which === 'BATON_TARGET_COMMAND') {
    try {
      target = { kind: 'command', pattern: new RegExp(value) };
    } catch (err) {
      throw new ConfigError(`BATON_TARGET_COMMAND=${JSON.stringify(value)} is not a valid regular expression (${(err as Error).message}): fix the pattern`);
    }
  } else {
    target = { kind: 'pidFile', path: value };
  }

  const startSignal = parseSignal(get('BATON_START_SIGNAL')!, 'BATON_START_SIGNAL');
  const pauseSignal = parseSignal(get('BATON_PAUSE_SIGNAL')!, 'BATON_PAUSE_SIGNAL');
  if (startSignal === pauseSignal) throw new ConfigError(`BATON_START_SIGNAL and BATON_PAUSE_SIGNAL are both ${startSignal}: they must differ`);

  const pauseAckTimeoutMs = parseDuration(get('BATON_PAUSE_ACK_TIMEOUT')!, 'BATON_PAUSE_ACK_TIMEOUT');
  const drainMs = parseDuration(get('BATON_DRAIN')!, 'BATON_DRAIN');
  // Rule C3: with no wait, a handoff releases the Lease the instant the pause signal leaves, while the
  // worker may still be handling a batch — the next pod's worker would start beside it (breaks S1).
  atLeast(
    pauseAckTimeoutMs,
    MIN_PAUSE_WAIT_MS,
    'BATON_PAUSE_ACK_TIMEOUT',
    get('BATON_PAUSE_ACK_TIMEOUT')!,
    'would release the Lease before a confirming worker could pause',
  );
  atLeast(drainMs, MIN_PAUSE_WAIT_MS, 'BATON_DRAIN', get('BATON_DRAIN')!, 'would release the Lease before the worker could pause');
  const workerGraceMs = parseDuration(get('BATON_WORKER_GRACE')!, 'BATON_WORKER_GRACE');
  atLeast(workerGraceMs, MIN_WORKER_GRACE_MS, 'BATON_WORKER_GRACE', get('BATON_WORKER_GRACE')!, 'would hand the Lease away at every blink of the worker scan');

  const listen = hostPortSetting(get('BATON_LISTEN')!, 'BATON_LISTEN');
  if (!isLoopbackHost(listen.host)) {
    throw new ConfigError(
      `BATON_LISTEN=${listen.host}:${listen.port} is not a loopback address: the local API changes state (POST /paused), ` +
        `so it serves only 127.0.0.1 or [::1]; ` +
        `scrape metrics on BATON_PROBE_LISTEN`,
    );
  }
  const probeListen = hostPortSetting(get('BATON_PROBE_LISTEN')!, 'BATON_PROBE_LISTEN');
  if (listen.port !== 0 && listen.port === probeListen.port) {
    throw new ConfigError(`BATON_LISTEN and BATON_PROBE_LISTEN both use port ${listen.port}: give them different ports`);
  }

  const logLevel = get('BATON_LOG_LEVEL')!;
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new ConfigError(`BATON_LOG_LEVEL=${JSON.stringify(logLevel)} is not a level: use trace, debug, info, warn, error or fatal`);
  }

  const podLabelText = get('BATON_POD_LABEL')!;
  if (podLabelText !== 'true' && podLabelText !== 'false') {
    throw new ConfigError(
      `BATON_POD_LABEL=${JSON.stringify(podLabelText)} is not true or false: set true to keep the label baton/role on the Pod, false to leave pods alone`,
    );
  }
  const podLabel = podLabelText === 'true';

  const yieldText = get('BATON_YIELD_TO_NEWER')!;
  // Judged even without POD_NAME; but Y1 finds the own Pod among its peers by name, so without it (a local
  // run) there is nothing to yield.
  const yieldParsed = yieldText === 'off' ? undefined : parseDuration(yieldText, 'BATON_YIELD_TO_NEWER', 'or off to hand over only when the Pod ends');
  const yieldDelayMs = podName === undefined ? undefined : yieldParsed;

  // W1: judged even without POD_NAME, as Y1; the word's targets are the peers, found with the own Pod's name.
  const takeoverText = get('BATON_TAKEOVER')!;
  const takeoverParsed = takeoverText === 'off' ? undefined : parseDuration(takeoverText, 'BATON_TAKEOVER', 'or off to release only');
  if (takeoverParsed !== undefined && (takeoverParsed <= 0 || takeoverParsed > MAX_TAKEOVER_OFFER_MS)) {
    throw new ConfigError(
      `BATON_TAKEOVER=${takeoverText} is outside (0, ${durationText(MAX_TAKEOVER_OFFER_MS)}]: the leader does not renew while its word waits; ` +
        `use e.g. ${durationText(DEFAULT_TAKEOVER_OFFER_MS)}, or off`,
    );
  }
  const takeoverOfferMs = podName === undefined ? undefined : takeoverParsed;

  // Last, so that every other setting is judged before the CLI loads the connection for its namespace.
  if (!namespace) {
    const message =
      'BATON_NAMESPACE is not set and could not be found (no POD_NAMESPACE, no in-cluster namespace file, no namespace in the kubeconfig context): ' +
      'set BATON_NAMESPACE, or POD_NAMESPACE from the downward API';
    throw kubeconfig && src.connectionNamespace === undefined ? new NamespaceUnknown(message, kubeconfig) : new ConfigError(message);
  }

  return {
    leaseName,
    namespace,
    identity,
    podName,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    renewIntervalMs,
    target,
    startSignal,
    pauseSignal,
    pauseAckTimeoutMs,
    drainMs,
    workerGraceMs,
    listen,
    probeListen,
    kubeconfig,
    logLevel,
    podLabel,
    yieldDelayMs,
    takeoverOfferMs,
  };
}

function parseFlags(argv: string[]): Record<string, string | undefined> {
  const options: Record<string, { type: 'string' }> = {};
  for (const o of OPTIONS) options[o.flag] = { type: 'string' };
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    if (positionals.length > 0)
      throw new ConfigError(`unexpected argument ${JSON.stringify(positionals[0])}: baton takes only --flag value pairs (see --help)`);
    return values;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${(err as Error).message}: see baton --help for the flags`);
  }
}
