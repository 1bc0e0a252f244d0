// Fakes for the election's unit tests: an in-memory Lease
// with optimistic concurrency, failure injection and a simulated watch; and a whole Sidecar on it
// with a fake worker (`sidecarWithFakes`).
import { pino } from 'pino';
import { FakeClock } from '../../harness/fake-clock.ts';
import { StubSource } from './worker.ts';
import { assembleSidecar } from '../../../src/assemble.ts';
import {
  DEFAULT_DRAIN_MS,
  DEFAULT_PAUSE_ACK_TIMEOUT_MS,
  DEFAULT_TIMINGS,
  DEFAULT_WORKER_GRACE_MS,
  EVALUATE_EVERY_MS,
  SCAN_INTERVAL_MS,
} from '../../../src/defaults.ts';
import { LockConflictError, type LeaseLock } from '../../../src/election/lock.ts';
import type { LeaderRecord, ObservedLease } from '../../../src/election/record.ts';
import { BatonMetrics } from '../../../src/metrics.ts';
import type { Sidecar, WordChannel } from '../../../src/sidecar.ts';

export type LockCall = { who: string; op: 'get' | 'create' | 'update'; at: number };

/** One stored Lease shared by several candidates, each with its own `MemoryLock` view. */
export class MemoryLease {
  record: LeaderRecord | undefined;
  rv = 0;
  calls: LockCall[] = [];
  private watchers: Array<(lease: ObservedLease | undefined, deleted: boolean) => void> = [];
  /** Failure injection: who → what to do with that candidate's next calls. */
  failing = new Map<string, 'error' | 'hang' | 'stuck'>();
  /** Called before every call; a returned promise holds the call until it settles (to order races by hand). */
  hook: ((who: string, op: LockCall['op']) => Promise<void> | undefined) | undefined;
  readonly clock: FakeClock;
  /**
   * A frozen API server (SIGSTOP): every call hangs until its caller gives up, no watch event goes out, and the
   * writes that arrived meanwhile are carried out, in order, when it resumes (nobody hears their answers).
   */
  private frozen: Array<() => void> | undefined;

  /**
   * `released`: the Lease starts as a previous holder's release left it (no holder, epoch 0), so the first pod
   * takes it at once; by default it is absent, and the first pod's create is a claim that leads only a lease
   * duration later (S1).
   */
  constructor(clock: FakeClock, opts: { released?: boolean } = {}) {
    this.clock = clock;
    if (opts.released) {
      this.record = {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: new Date(clock.wallClock().getTime()),
        renewTime: new Date(clock.wallClock().getTime()),
        leaseTransitions: 0,
      };
      this.rv = 1;
    }
  }

  lockFor(who: string): MemoryLock {
    return new MemoryLock(this, who);
  }

  /** A simulated watch: every write is delivered to every watcher. */
  watch(fn: (lease: ObservedLease | undefined, deleted: boolean) => void): () => void {
    this.watchers.push(fn);
    return () => (this.watchers = this.watchers.filter((w) => w !== fn));
  }

  current(): ObservedLease | undefined {
    return this.record ? { record: { ...this.record }, resourceVersion: String(this.rv) } : undefined;
  }

  freeze(): void {
    this.frozen ??= [];
  }

  /** Resumes a frozen server: the writes it took meanwhile land now (the first wins, the rest conflict). */
  resume(): void {
    const queued = this.frozen ?? [];
    this.frozen = undefined;
    for (const apply of queued) apply();
  }

  /** While frozen: queues `apply` for the resume, and fails the call when its caller aborts. */
  async frozenCall(apply: () => void, signal: AbortSignal): Promise<never> {
    this.frozen!.push(apply);
    return new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
  }

  isFrozen(): boolean {
    return this.frozen !== undefined;
  }

  /** A write from outside the election (kubectl edit, say). */
  edit(change: Partial<LeaderRecord>): void {
    if (!this.record) throw new Error('no lease');
    this.record = { ...this.record, ...change };
    this.rv++;
    this.notify(false);
  }

  delete(): void {
    this.record = undefined;
    this.rv++;
    this.notify(true);
  }

  /** Every record the candidates wrote, in order (a hand edit or deletion is not a write of theirs). */
  readonly writes: LeaderRecord[] = [];

  write(record: LeaderRecord): ObservedLease {
    this.record = { ...record };
    this.writes.push({ ...record });
    this.rv++;
    this.notify(false);
    return this.current()!;
  }

  private notify(deleted: boolean): void {
    const snapshot = this.current();
    // Watch events arrive asynchronously, after the writer's response.
    queueMicrotask(() => {
      for (const w of this.watchers) w(snapshot, deleted);
    });
  }
}

export class MemoryLock implements LeaseLock {
  private readonly store: MemoryLease;
  private readonly who: string;

  constructor(store: MemoryLease, who: string) {
    this.store = store;
    this.who = who;
  }

  describe(): string {
    return `memory/${this.who}`;
  }

  private async gate(op: LockCall['op'], signal: AbortSignal): Promise<void> {
    this.store.calls.push({ who: this.who, op, at: this.store.clock.now() });
    const mode = this.store.failing.get(this.who);
    if (mode === 'error') throw new Error('connection refused');
    if (mode === 'stuck') await new Promise<never>(() => undefined); // ignores even the abort
    const held = this.store.hook?.(this.who, op);
    if (held) await held;
    if (mode === 'hang') {
      await new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    }
  }

  async get(signal: AbortSignal): Promise<ObservedLease | undefined> {
    await this.gate('get', signal);
    if (this.store.isFrozen()) return this.store.frozenCall(() => undefined, signal);
    return this.store.current();
  }

  async create(record: LeaderRecord, signal: AbortSignal): Promise<ObservedLease> {
    await this.gate('create', signal);
    if (this.store.isFrozen()) return this.store.frozenCall(() => void (this.store.record ? undefined : this.store.write(record)), signal);
    if (this.store.record) throw new LockConflictError('already exists');
    return this.store.write(record);
  }

  async update(record: LeaderRecord, base: ObservedLease, signal: AbortSignal): Promise<ObservedLease> {
    await this.gate('update', signal);
    if (this.store.isFrozen())
      return this.store.frozenCall(
        () => void (this.store.record && String(this.store.rv) === base.resourceVersion ? this.store.write(record) : undefined),
        signal,
      );
    const resourceVersion = base.resourceVersion;
    // As the real API server answers a lock that sends the uid it read: a deleted Lease is a conflict.
    if (!this.store.record) throw new LockConflictError('precondition failed: uid');
    if (String(this.store.rv) !== resourceVersion) throw new LockConflictError('conflict');
    return this.store.write(record);
  }
}

/** The Lease timings of every `sidecarWithFakes` pod: baton's defaults. */
export const sidecarTimings = DEFAULT_TIMINGS;

export interface SidecarFakesOptions {
  /** The Lease the pod competes for; its clock is the pod's clock. */
  store: MemoryLease;
  identity: string;
  /** The pid of the worker the pod finds at once. */
  pid: number;
  /** Whether that worker has installed its signal handlers (default true). */
  handlers?: boolean;
  /** Where every log line goes, at level debug, as pino writes it (one JSON line a call); default: no logs. */
  logSink?: (line: string) => void;
  /** Called after each signal sent to the worker is recorded (a worker that confirms its pauses, say). */
  onSignal?: (signal: string, sidecar: Sidecar) => void;
  /** Rule Y1's BATON_YIELD_TO_NEWER (default: off). */
  yieldDelayMs?: number;
  /** Rule W1's BATON_TAKEOVER and how the word reaches the other pods (default: off). */
  takeover?: { offerMs: number; channel: WordChannel };
}

export type SignalSent = { pid: number; signal: string; at: number };

/**
 * One pod with a fake clock and baton's default settings: a started Sidecar on `store`, assembled as
 * src/app.ts assembles it (a real Elector, WorkerController, PauseTracker and metrics), whose worker is a
 * `StubSource` process and whose signals, pod labels and Event reasons are recorded.
 */
export function sidecarWithFakes(o: SidecarFakesOptions) {
  const { store, identity } = o;
  const clock = store.clock;
  const source = new StubSource();
  source.worker(o.pid, o.handlers ?? true);
  const kills: SignalSent[] = [];
  const metrics = new BatonMetrics({ defaultMetrics: false });
  const labels: string[] = [];
  const events: string[] = [];
  const logger = o.logSink ? pino({ level: 'debug' }, { write: o.logSink }) : pino({ level: 'silent' });
  const { sidecar, elector, worker, pauses } = assembleSidecar({
    identity,
    leaseName: 'bot',
    namespace: 'ns',
    timings: sidecarTimings,
    pauseAckTimeoutMs: DEFAULT_PAUSE_ACK_TIMEOUT_MS,
    drainMs: DEFAULT_DRAIN_MS,
    workerGraceMs: DEFAULT_WORKER_GRACE_MS,
    scanIntervalMs: SCAN_INTERVAL_MS,
    evaluateEveryMs: EVALUATE_EVERY_MS,
    yieldDelayMs: o.yieldDelayMs,
    ...(o.takeover ? { takeover: { key: `key-${identity}`, offerMs: o.takeover.offerMs }, wordChannel: o.takeover.channel } : {}),
    lock: store.lockFor(identity),
    finder: source,
    // Called only once started, after `sidecar` is assigned.
    kill: (pid, signal) => {
      kills.push({ pid, signal, at: clock.now() });
      o.onSignal?.(signal, sidecar);
    },
    clock,
    random: () => 0.5,
    logger,
    metrics,
    api: { problem: () => undefined },
    reporters: { label: (r) => labels.push(r), event: (_t, reason) => events.push(reason) },
  });
  store.watch((lease) => elector.observe(lease));
  sidecar.start();
  /** The baton_leader gauge as /metrics shows it. */
  const leaderGauge = async () => Number(/^baton_leader (\d)$/m.exec(await metrics.text())?.[1]);
  /** The SIGUSR1s (start polling) sent so far. */
  const starts = () => kills.filter((k) => k.signal === 'SIGUSR1');
  return { sidecar, elector, worker, source, pauses, metrics, kills, starts, labels, events, leaderGauge };
}
