// A simulated world for the randomized model tests of issue 9: several pods (Elector + Sidecar +
// WorkerController over a fake worker process) on one in-memory Lease with real optimistic concurrency
// (resourceVersion, and a uid across delete/recreate), a network that holds, fails, loses answers and
// commits writes late, watches that hold, drop, duplicate and reorder events, pods whose clock and event
// loop freeze, and edits from outside. The checks of rules S1, S2, C2 and L2 run as it goes; `converge`
// ends the faults and reports whether exactly one worker runs.
import { pino } from 'pino';
import { assembleSidecar } from '../../../../src/assemble.ts';
import {
  DEFAULT_DRAIN_MS,
  DEFAULT_PAUSE_ACK_TIMEOUT_MS,
  DEFAULT_TAKEOVER_OFFER_MS,
  DEFAULT_TIMINGS,
  DEFAULT_WORKER_GRACE_MS,
  RELEASE_EVENT_WAIT_MS,
} from '../../../../src/defaults.ts';
import type { Clock, TimerHandle } from '../../../../src/election/clock.ts';
import type { Elector } from '../../../../src/election/elector.ts';
import { LockConflictError, type LeaseLock } from '../../../../src/election/lock.ts';
import type { LeaderRecord, ObservedLease } from '../../../../src/election/record.ts';
import { BatonMetrics } from '../../../../src/metrics.ts';
import type { TakeoverWord } from '../../../../src/election/takeover.ts';
import { offerOutcome, type WordDelivery } from '../../../../src/http/takeover.ts';
import type { Sidecar, WordChannel } from '../../../../src/sidecar.ts';
import type { WorkerController } from '../../../../src/worker/controller.ts';
import { StubSource } from '../../fakes/worker.ts';

/** baton's default timings; every pod of the model runs them (each with its own renew interval). */
export const TIMINGS = DEFAULT_TIMINGS;
/** The model's pods scan /proc and re-evaluate every 2 s (the real sidecar: 0.5 s and 1 s), for speed. */
const SCAN_AND_EVALUATE_MS = 2_000;
/** W1's offer in the model: the default, so that a held word and the release after it meet the other faults. */
const TAKEOVER_OFFER_MS = DEFAULT_TAKEOVER_OFFER_MS;
/** Y1's delay in the model: shorter than the default, so that a yield often meets the other faults. */
const YIELD_DELAY_MS = 300;
/**
 * The worker kit's dead-man's switch, polled every second: a running worker pauses itself when its sidecar
 * has been silent this long, or when the last `renewedAt` it read from GET /leader is older than the renew
 * deadline (the Lease's renewTime is written with this pod's clock, and `timings` comes with it, issue 10):
 * a sidecar frozen after its renews stopped cannot pause its worker at the deadline, and a standby may
 * take over a lease duration after that renew.
 */
const DEAD_MAN_MS = 10_000;
const WALL_EPOCH = 1_800_000_000_000;
/** A batch in progress when the pause arrives takes up to this long to finish. */
const MAX_BATCH_MS = 2_000;
/** Shared across worlds: building a registry per sidecar would cost more than the whole simulation. */
const metricsPool = new Map<string, { metrics: BatonMetrics; onLeader: (b: boolean) => void }>();
const silent = pino({ level: 'silent' });

function metricsFor(key: string, onLeader: (b: boolean) => void): BatonMetrics {
  let entry = metricsPool.get(key);
  if (!entry) {
    const metrics = new BatonMetrics({ defaultMetrics: false });
    const created = { metrics, onLeader };
    const setLeader = metrics.setLeader.bind(metrics);
    metrics.setLeader = (b: boolean) => {
      created.onLeader(b);
      setLeader(b);
    };
    metricsPool.set(key, created);
    entry = created;
  }
  entry.onLeader = onLeader;
  return entry.metrics;
}

/** Lets pending promise callbacks run: enough turns for the longest await chain in the sidecar. */
async function drain(turns = 6): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

type Owner = string; // `${pod}#${generation}` for a sidecar's timers, 'world' for the simulation's own

interface Timer {
  at: number;
  seq: number;
  owner: Owner;
  fn: () => void;
}

class SimClock {
  t = 0;
  private seq = 0;
  timers: Timer[] = [];
  readonly frozen = new Set<string>(); // pod ids

  for(owner: Owner): Clock {
    return {
      now: () => this.t,
      wallClock: () => new Date(WALL_EPOCH + this.t),
      setTimer: (fn, ms): TimerHandle => {
        const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, owner, fn };
        this.timers.push(timer);
        return { cancel: () => void (this.timers = this.timers.filter((x) => x !== timer)) };
      },
    };
  }

  private runnable(x: Timer): boolean {
    return !this.frozen.has(x.owner.split('#')[0]!);
  }

  /** Runs every due timer of a pod that is not frozen, in order, letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await drain(); // what is already queued runs before any timer, as in Node
    for (;;) {
      let next: Timer | undefined;
      for (const x of this.timers) if (x.at <= end && this.runnable(x) && (!next || x.at < next.at || (x.at === next.at && x.seq < next.seq))) next = x;
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      next.fn();
      await drain();
    }
    this.t = end;
    await drain();
  }

  /** A pod resumes: its overdue timers run at once, in due order, as Node runs expired timers on resume. */
  async runOverdue(pod: string): Promise<void> {
    for (;;) {
      let next: Timer | undefined;
      for (const x of this.timers)
        if (x.at <= this.t && x.owner.split('#')[0] === pod && (!next || x.at < next.at || (x.at === next.at && x.seq < next.seq))) next = x;
      if (!next) return;
      this.timers = this.timers.filter((x) => x !== next);
      next.fn();
      await drain();
    }
  }

  dropOwner(owner: Owner): void {
    this.timers = this.timers.filter((x) => x.owner !== owner);
  }
}

/**
 * How a pod's requests fare: answered at once, held (not yet at the server), refused, carried out with the
 * answer lost, or carried out at once with the answer held (`slow-answer`: the watch shows the write before
 * its writer hears of it, as a busy API server's often does).
 */
export type NetMode = 'ok' | 'hold' | 'fail' | 'lose-answer' | 'slow-answer';

type CallResult = { ok: true; v: ObservedLease | undefined } | { ok: false; e: unknown };

interface Call {
  pod: string;
  gen: number;
  exec: () => ObservedLease | undefined;
  write: boolean;
  settle: (r: CallResult) => void;
  /** The client gave up; a write may still reach the server later (`ghost`). */
  abandoned: boolean;
  /** Carried out already, its answer held (`slow-answer`): delivering it answers with this, and carries out nothing. */
  done?: CallResult;
}

/** Carries a call out at the server: its answer, or what it threw. */
function carryOut(exec: () => ObservedLease | undefined): CallResult {
  try {
    return { ok: true, v: exec() };
  } catch (e) {
    return { ok: false, e };
  }
}

/** The one Lease, as the API server keeps it. */
class Store {
  record: LeaderRecord | undefined;
  rv = 0;
  uid = 0;
  /** Every state, for the S2 check. */
  readonly writes: Array<{ by: string; before: LeaderRecord | undefined; after: LeaderRecord | undefined; create: boolean }> = [];

  current(): ObservedLease | undefined {
    return this.record ? { record: { ...this.record }, resourceVersion: String(this.rv), object: { uid: this.uid } } : undefined;
  }

  commit(by: string, record: LeaderRecord | undefined, create: boolean): ObservedLease | undefined {
    const before = this.record;
    this.record = record ? { ...record } : undefined;
    this.rv++;
    if (create) this.uid++;
    this.writes.push({ by, before, after: this.record, create });
    return this.current();
  }
}

interface WorkerProc {
  pid: number;
  state: 'paused' | 'running' | 'finishing' | 'dead';
  confirms: boolean;
}

interface Incarnation {
  gen: number;
  elector: Elector;
  sidecar: Sidecar;
  controller: WorkerController;
  labels: string[];
  reasons: string[];
  gauge: { v: number };
  acquired: number;
  ended: number;
  /** When its last release was written (E1: that release's Event may wait for the successor, `RELEASE_EVENT_WAIT_MS` at most). */
  releasedAt: number | undefined;
  /** The release of the current leadership, if any (cleared by an acquire): a held label counts from it (E1). */
  labelReleasedAt: number | undefined;
  lastEpoch: number;
  /** Set once the process is gone (exited after a handoff, or crashed). */
  dead: boolean;
}

interface PodState {
  id: string;
  source: StubSource;
  worker: WorkerProc;
  inc: Incarnation;
  gens: number;
  net: NetMode;
  watchHeld: boolean;
  watchQueue: Array<ObservedLease | undefined>;
  /** SIGTERM or deletion was sent: its worker must never be started again (L2). */
  terminating: boolean;
  exited: boolean;
  /** Since when its sidecar has not answered the worker (frozen or dead): the dead-man's switch. */
  silentSince: number | undefined;
  /** The Lease's renewTime (as local time) in the last GET /leader that said "leader". */
  renewSeen: number | undefined;
  /** W1: words on their way to this pod, held while `wordsHeld` or while it is frozen. */
  words: WordMessage[];
  wordsHeld: boolean;
}

/** W1: a leader's word on its way to one pod; `settle` gives the leader this pod's answer (or the loss). */
interface WordMessage {
  word: TakeoverWord;
  settle: (d: WordDelivery) => void;
}

export class World {
  readonly clock = new SimClock();
  readonly store = new Store();
  readonly pods: PodState[] = [];
  readonly calls: Call[] = [];
  readonly violations: string[] = [];
  readonly log: string[] = [];
  /** W1: every word any leader has revealed, for replays and forgeries. */
  readonly revealed: TakeoverWord[] = [];
  /** W1, for the test that the faults reach it: handoffs done by a takeover, and words heard that were not a leader's. */
  readonly tally = { takeovers: 0, releases: 0, forgedOrReplayedHeard: 0, forgedOrReplayedTaken: 0 };
  private nextPid = 100;
  private rand: () => number;

  /** Each pod's renew interval (BATON_RENEW_INTERVAL), by index; a pod without one renews every retry period. */
  private readonly renewIntervalsMs: readonly number[];

  constructor(podCount: number, seed: number, renewIntervalsMs: readonly number[] = []) {
    this.renewIntervalsMs = renewIntervalsMs;
    let x = seed >>> 0 || 1;
    this.rand = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 4_294_967_296;
    };
    // Half the worlds start where a previous deployment released the Lease on its way out (taken at once);
    // the other half with no Lease at all (a first install, or one deleted by hand: the first create is a claim).
    if ((seed & 1) === 0) {
      const wall = new Date(WALL_EPOCH);
      this.store.commit('previous', { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: wall, renewTime: wall, leaseTransitions: 3 }, true);
    }
    for (let i = 0; i < podCount; i++) this.addPod(`p${i}`, i % 2 === 0);
    // The worker kit's dead-man's switch and batch ends run in the workers' own processes: never frozen.
    const tick = () => {
      this.deadMan();
      this.clock.for('world').setTimer(tick, 1000);
    };
    this.clock.for('world').setTimer(tick, 1000);
  }

  private violation(text: string): void {
    this.violations.push(`t=${this.clock.t} ${text}`);
  }

  private addPod(id: string, confirms: boolean): void {
    const source = new StubSource();
    const worker: WorkerProc = { pid: this.nextPid++, state: 'paused', confirms };
    source.worker(worker.pid, true);
    const pod = {
      id,
      source,
      worker,
      gens: 0,
      net: 'ok',
      watchHeld: false,
      watchQueue: [],
      terminating: false,
      exited: false,
      silentSince: undefined,
      words: [],
      wordsHeld: false,
    } as unknown as PodState;
    this.pods.push(pod);
    pod.inc = this.incarnate(pod);
  }

  /** Starts a sidecar process for the pod (again, after a crash): fresh memory, same identity and worker. */
  private incarnate(pod: PodState): Incarnation {
    const gen = ++pod.gens;
    const owner = `${pod.id}#${gen}`;
    const clock = this.clock.for(owner);
    const lock = new ModelLock(this, pod, gen);
    const renewIntervalMs = this.renewIntervalsMs[this.pods.indexOf(pod)] ?? TIMINGS.retryPeriodMs;
    const gauge = { v: 0 };
    const metrics = metricsFor(pod.id, (b) => (gauge.v = b ? 1 : 0));
    const labels: string[] = [];
    const reasons: string[] = [];
    const {
      sidecar,
      elector,
      worker: controller,
    } = assembleSidecar({
      identity: pod.id,
      leaseName: 'bot',
      namespace: 'ns',
      timings: { ...TIMINGS, renewIntervalMs },
      pauseAckTimeoutMs: DEFAULT_PAUSE_ACK_TIMEOUT_MS,
      drainMs: DEFAULT_DRAIN_MS,
      workerGraceMs: DEFAULT_WORKER_GRACE_MS,
      scanIntervalMs: SCAN_AND_EVALUATE_MS,
      evaluateEveryMs: SCAN_AND_EVALUATE_MS,
      yieldDelayMs: YIELD_DELAY_MS,
      // W1: a key per process, as the real sidecar draws one at start.
      takeover: { key: `key-${owner}`, offerMs: TAKEOVER_OFFER_MS },
      wordChannel: this.wordChannel(pod),
      lock,
      finder: pod.source,
      kill: (pid, signal) => this.signal(pod, gen, pid, signal),
      clock,
      random: this.rand,
      logger: silent,
      metrics,
      api: { problem: () => undefined },
      reporters: { label: (r) => labels.push(r), event: (_t, reason) => reasons.push(reason) },
    });
    const inc: Incarnation = {
      gen,
      elector,
      sidecar,
      controller,
      labels,
      reasons,
      gauge,
      acquired: 0,
      ended: 0,
      releasedAt: undefined,
      labelReleasedAt: undefined,
      lastEpoch: -1,
      dead: false,
    };
    elector.on((e) => {
      if (e.type === 'acquired') inc.acquired++;
      if (e.type === 'lost' || e.type === 'released') inc.ended++;
      if (e.type === 'released') inc.releasedAt = inc.labelReleasedAt = this.clock.t;
      if (e.type === 'released') this.tally[e.takenOver ? 'takeovers' : 'releases']++;
      if (e.type === 'acquired') inc.labelReleasedAt = undefined;
    });
    inc.sidecar.start();
    pod.silentSince = undefined;
    return inc;
  }

  // ---- the network and the watch ----------------------------------------------------------------

  call(pod: PodState, gen: number, write: boolean, exec: () => ObservedLease | undefined, signal: AbortSignal): Promise<ObservedLease | undefined> {
    return new Promise((resolve, reject) => {
      const c: Call = {
        pod: pod.id,
        gen,
        exec,
        write,
        abandoned: false,
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the lock rejects with what the server threw
        settle: (r) => (r.ok ? resolve(r.v) : reject(r.e)),
      };
      signal.addEventListener(
        'abort',
        () => {
          c.abandoned = true;
          reject(signal.reason as Error);
        },
        { once: true },
      );
      if (pod.net === 'fail') return reject(new Error('connection refused'));
      if (pod.net === 'lose-answer') {
        try {
          exec();
        } catch {
          // the answer is lost either way
        }
        return reject(new Error('connection reset after the request was sent'));
      }
      if (pod.net === 'slow-answer' && !this.clock.frozen.has(pod.id)) {
        // Carried out now; only the answer waits (delivering it later must not carry it out again).
        c.done = carryOut(exec);
        c.write = false;
        return void this.calls.push(c);
      }
      if (pod.net === 'hold' || this.clock.frozen.has(pod.id)) return void this.calls.push(c);
      this.answer(c);
    });
  }

  private answer(c: Call): void {
    const r = c.done ?? carryOut(c.exec);
    if (!c.abandoned) c.settle(r);
  }

  /** Answers held calls of a pod (all, or the first); an abandoned write may still be committed (a late write). */
  async deliverCalls(podIndex: number, which: 'first' | 'all' | 'drop-first'): Promise<void> {
    const pod = this.pods[podIndex % this.pods.length]!;
    if (this.clock.frozen.has(pod.id)) return;
    const mine = this.calls.filter((c) => c.pod === pod.id);
    const chosen = which === 'all' ? mine : mine.slice(0, 1);
    for (const c of chosen) {
      this.calls.splice(this.calls.indexOf(c), 1);
      if (which === 'drop-first') {
        if (!c.abandoned) c.settle({ ok: false, e: new Error('connection reset') });
      } else if (!c.abandoned || c.write) this.answer(c);
    }
    await drain();
  }

  private notify(): void {
    const lease = this.store.current();
    for (const pod of this.pods) {
      if (pod.exited) continue;
      pod.watchQueue.push(lease);
      if (!pod.watchHeld && !this.clock.frozen.has(pod.id)) this.flushWatchSync(pod, 'in-order');
    }
  }

  private flushWatchSync(pod: PodState, how: 'in-order' | 'reversed' | 'drop-first' | 'dup-first'): void {
    let q = pod.watchQueue;
    pod.watchQueue = [];
    if (how === 'reversed') q = q.reverse();
    if (how === 'drop-first') q = q.slice(1);
    if (how === 'dup-first' && q.length > 0) q = [q[0]!, ...q];
    const elector = pod.inc.elector;
    // Watch events arrive asynchronously: after the writer's answer, or before it when the answer is held (`slow-answer`).
    queueMicrotask(() => {
      if (pod.inc.dead) return;
      for (const lease of q) elector.observe(lease ? { ...lease, record: { ...lease.record } } : undefined);
    });
  }

  async flushWatch(podIndex: number, how: 'in-order' | 'reversed' | 'drop-first' | 'dup-first'): Promise<void> {
    const pod = this.pods[podIndex % this.pods.length]!;
    if (this.clock.frozen.has(pod.id)) return;
    this.flushWatchSync(pod, how);
    await drain();
  }

  // ---- the server's side of the lock ---------------------------------------------------------------

  serverGet(): ObservedLease | undefined {
    return this.store.current();
  }

  serverCreate(by: string, record: LeaderRecord): ObservedLease {
    if (this.store.record) throw new LockConflictError('already exists');
    // S1 has no exception: a pod that created the Lease (first install, or after a deletion by hand) starts
    // its worker only once its claim has stood a lease duration, so nothing is excused here.
    const r = this.store.commit(by, record, true)!;
    this.notify();
    return r;
  }

  serverUpdate(by: string, record: LeaderRecord, base: ObservedLease): ObservedLease {
    const uid = (base.object as { uid?: number } | undefined)?.uid;
    if (!this.store.record || (uid !== undefined && uid !== this.store.uid)) throw new LockConflictError('precondition failed: uid');
    if (String(this.store.rv) !== base.resourceVersion) throw new LockConflictError('conflict');
    const before = this.store.record;
    const r = this.store.commit(by, record, false)!;
    // S2: a change of holder writes a higher epoch than the record it replaces.
    if (record.holderIdentity !== '' && record.holderIdentity !== before.holderIdentity && !(record.leaseTransitions > before.leaseTransitions)) {
      this.violation(`S2: ${by} took the Lease from "${before.holderIdentity}" at epoch ${record.leaseTransitions}, not above ${before.leaseTransitions}`);
    }
    this.notify();
    return r;
  }

  /** Someone else writes the Lease (kubectl, a tool). */
  async edit(kind: 'holder-ghost' | 'holder-other' | 'delete' | 'duration' | 'garbage' | 'touch', podIndex: number): Promise<void> {
    const r = this.store.record;
    if (kind === 'delete') {
      if (r) this.store.commit('outside', undefined, false);
    } else if (r) {
      const change: Partial<LeaderRecord> =
        kind === 'holder-ghost'
          ? { holderIdentity: 'ghost' }
          : kind === 'holder-other'
            ? { holderIdentity: this.pods[podIndex % this.pods.length]!.id }
            : kind === 'duration'
              ? { leaseDurationSeconds: 1 }
              : kind === 'garbage'
                ? { leaseDurationSeconds: 0, renewTime: undefined, acquireTime: undefined }
                : {};
      this.store.commit('outside', { ...r, ...change }, false);
    } else return;
    this.log.push(`t=${this.clock.t} edit ${kind}`);
    this.notify();
    await drain();
  }

  // ---- the worker processes ----------------------------------------------------------------------

  private signal(pod: PodState, gen: number, pid: number, signal: NodeJS.Signals): void {
    const w = pod.worker;
    if (pid !== w.pid || w.state === 'dead' || pod.inc.gen !== gen) return;
    if (signal === 'SIGUSR1') {
      if (pod.terminating) this.violation(`L2: ${pod.id} is terminating, yet its worker was told to start`);
      // S1 is judged when a worker starts. A repeat to a worker already running starts nothing: any overlap
      // needs some worker to start, and that start is judged (a repeat after an excused cold start, with the
      // Lease deleted again meanwhile, was reported as a new start: seed -635193189).
      if (w.state !== 'running')
        for (const other of this.pods) {
          if (other !== pod && (other.worker.state === 'running' || other.worker.state === 'finishing')) {
            this.violation(
              `S1: ${pod.id}'s worker told to start while ${other.id}'s worker is ${other.worker.state} (holder ${this.store.record?.holderIdentity}, log: ${this.log.slice(-6).join('; ')})`,
            );
          }
        }
      if (w.state === 'paused') w.state = 'running';
      this.log.push(`t=${this.clock.t} start ${pod.id}`);
    } else if (signal === 'SIGUSR2') {
      if (w.state === 'running') this.finish(pod);
    }
  }

  /** A pause reached a running worker: its batch ends within MAX_BATCH_MS, then it confirms (if it does). */
  private finish(pod: PodState): void {
    const w = pod.worker;
    w.state = 'finishing';
    const pid = w.pid;
    this.clock.for('world').setTimer(
      () => {
        if (w.pid !== pid || w.state !== 'finishing') return;
        w.state = 'paused';
        this.log.push(`t=${this.clock.t} paused ${pod.id}`);
        const inc = pod.inc;
        if (w.confirms && !inc.dead && !this.clock.frozen.has(pod.id)) inc.sidecar.confirmPause(inc.sidecar.status().pause.id);
      },
      Math.floor(this.rand() * MAX_BATCH_MS),
    );
  }

  private deadMan(): void {
    for (const pod of this.pods) {
      const silent = pod.inc.dead || this.clock.frozen.has(pod.id);
      if (!silent) {
        pod.silentSince = undefined;
        const s = pod.inc.sidecar.status();
        if (s.isLeader && s.renewedAt) pod.renewSeen = Date.parse(s.renewedAt) - WALL_EPOCH;
      } else pod.silentSince ??= this.clock.t;
      if (pod.worker.state !== 'running') continue;
      const silentTooLong = pod.silentSince !== undefined && this.clock.t - pod.silentSince >= DEAD_MAN_MS;
      const renewTooOld = pod.renewSeen !== undefined && this.clock.t - pod.renewSeen > TIMINGS.renewDeadlineMs;
      if (silentTooLong || renewTooOld) this.finish(pod);
    }
  }

  killWorker(podIndex: number): void {
    const pod = this.pods[podIndex % this.pods.length]!;
    pod.worker.state = 'dead';
    pod.source.current = undefined;
    this.log.push(`t=${this.clock.t} worker of ${pod.id} killed`);
  }

  restartWorker(podIndex: number): void {
    const pod = this.pods[podIndex % this.pods.length]!;
    if (pod.exited || pod.worker.state !== 'dead') return;
    // A new process starts paused, as the worker contract says.
    pod.worker = { pid: this.nextPid++, state: 'paused', confirms: pod.worker.confirms };
    pod.source.worker(pod.worker.pid, true);
  }

  // ---- the sidecar processes ---------------------------------------------------------------------

  /** The sidecar process dies (OOM, SIGKILL) and its container restarts: no release, no memory. */
  async crashSidecar(podIndex: number): Promise<void> {
    const pod = this.pods[podIndex % this.pods.length]!;
    if (pod.exited || this.clock.frozen.has(pod.id)) return;
    this.kill(pod);
    this.log.push(`t=${this.clock.t} sidecar of ${pod.id} crashed`);
    if (!pod.terminating) pod.inc = this.incarnate(pod);
    await drain();
  }

  private kill(pod: PodState): void {
    const inc = pod.inc;
    inc.dead = true;
    inc.sidecar.stop();
    this.clock.dropOwner(`${pod.id}#${inc.gen}`);
    pod.watchQueue = [];
    for (const c of this.calls.filter((x) => x.pod === pod.id && x.gen === inc.gen && !x.write)) this.calls.splice(this.calls.indexOf(c), 1);
  }

  /** SIGTERM (or the Pod's deletion): hand over, then exit. */
  terminate(podIndex: number, trigger: 'SIGTERM' | 'deletion'): void {
    const pod = this.pods[podIndex % this.pods.length]!;
    if (pod.exited || pod.terminating || this.alive().length <= 1) return; // keep one pod, as a Deployment would
    pod.terminating = true;
    const inc = pod.inc;
    this.log.push(`t=${this.clock.t} ${trigger} ${pod.id}`);
    void inc.sidecar.handOver(trigger).then(() => {
      if (inc.dead) return;
      this.kill(pod);
      pod.exited = true;
      if (pod.worker.state === 'running') this.violation(`L2: ${pod.id} exited with its worker running`);
      pod.worker.state = 'dead';
    });
  }

  freeze(podIndex: number): void {
    const pod = this.pods[podIndex % this.pods.length]!;
    if (!pod.exited) this.clock.frozen.add(pod.id);
  }

  async thaw(podIndex: number): Promise<void> {
    const pod = this.pods[podIndex % this.pods.length]!;
    if (!this.clock.frozen.delete(pod.id)) return;
    await this.clock.runOverdue(pod.id);
    // What happened meanwhile reaches it now: held answers and watch events (held words come with `word`).
    await this.deliverCalls(podIndex, 'all');
    await this.flushWatch(podIndex, 'in-order');
  }

  setNet(podIndex: number, mode: NetMode): void {
    this.pods[podIndex % this.pods.length]!.net = mode;
  }

  holdWatch(podIndex: number, held: boolean): void {
    this.pods[podIndex % this.pods.length]!.watchHeld = held;
  }

  alive(): PodState[] {
    return this.pods.filter((p) => !p.exited && !p.terminating);
  }

  // ---- the checks --------------------------------------------------------------------------------

  /** C2 and S2 per observer, after every step. */
  checkReports(): void {
    for (const pod of this.pods) {
      const inc = pod.inc;
      if (inc.dead || this.clock.frozen.has(pod.id)) continue;
      const s = inc.sidecar.status();
      // C2: every acquire and every end of leadership was an event: none ended silently.
      if (inc.acquired - inc.ended !== (inc.elector.isLeader() ? 1 : 0)) {
        this.violation(`C2: ${pod.id} acquired ${inc.acquired}× and ended ${inc.ended}×, holds=${inc.elector.isLeader()}`);
      }
      const elected = inc.reasons.filter((r) => r === 'LeaderElected').length;
      const ended = inc.reasons.filter((r) => r === 'LeaderLost' || r === 'LeaderReleased').length;
      // E1: the last release's Event may still wait for the successor's acquire, for RELEASE_EVENT_WAIT_MS at most.
      const held = inc.releasedAt !== undefined && this.clock.t - inc.releasedAt < RELEASE_EVENT_WAIT_MS && ended === inc.ended - 1 ? 1 : 0;
      if (elected !== inc.acquired || ended + held !== inc.ended)
        this.violation(`C2: ${pod.id}'s Events (${inc.reasons.join(',')}) do not match ${inc.acquired} acquires and ${inc.ended} ends`);
      // The four reports agree with /leader — but a handoff's label, held from its pause until its release's
      // Event goes (E1): then it must still say leader, and never for longer than the Event may wait.
      const labelHeld = inc.sidecar.labelIsHeld;
      if (labelHeld && inc.labelReleasedAt !== undefined && this.clock.t - inc.labelReleasedAt > RELEASE_EVENT_WAIT_MS)
        this.violation(`C2: ${pod.id}'s label still held ${this.clock.t - inc.labelReleasedAt} ms after its release`);
      const label = labelHeld && inc.labels.at(-1) === 'leader' && !s.isLeader ? 'standby' : (inc.labels.at(-1) ?? 'standby');
      if ((label === 'leader') !== s.isLeader || (inc.gauge.v === 1) !== s.isLeader || (inc.controller.status().desired === 'running') !== s.isLeader) {
        this.violation(`C2: ${pod.id} /leader isLeader=${s.isLeader} but label=${label} gauge=${inc.gauge.v} desired=${inc.controller.status().desired}`);
      }
      // S2: /leader never shows a smaller epoch than before.
      if (s.epoch < inc.lastEpoch) this.violation(`S2: ${pod.id}'s /leader epoch fell from ${inc.lastEpoch} to ${s.epoch}`);
      inc.lastEpoch = s.epoch;
    }
  }

  // ---- W1: the leader's word --------------------------------------------------------------------

  /** The pod network as a leader's sidecar sees it: the word goes to every other live pod, held or heard at once. */
  private wordChannel(from: PodState): WordChannel {
    return {
      offer: async (word) => {
        this.revealed.push(word);
        this.log.push(`t=${this.clock.t} ${from.id} tells its word at rv ${word.resourceVersion}`);
        const targets = this.pods.filter((p) => p !== from && !p.exited);
        const deliveries = await Promise.all(
          targets.map(
            (p) =>
              new Promise<WordDelivery>((settle) => {
                const message = { word, settle };
                if (p.wordsHeld || this.clock.frozen.has(p.id)) p.words.push(message);
                else this.hearWord(p, message);
              }),
          ),
        );
        return offerOutcome(
          targets.map((p) => p.id),
          deliveries,
        );
      },
    };
  }

  private hearWord(pod: PodState, message: WordMessage): void {
    if (pod.exited) return message.settle({ name: pod.id, error: 'connection refused' });
    const answer = pod.inc.sidecar.hearWord(message.word);
    this.log.push(`t=${this.clock.t} ${pod.id} hears ${message.word.holder}'s word at rv ${message.word.resourceVersion}: ${JSON.stringify(answer)}`);
    message.settle({ name: pod.id, answer });
  }

  /**
   * W1's faults: words to `podIndex` held or let through, the first one held delivered or lost, and words
   * nobody sent now — a word revealed earlier replayed as it was, or a forgery about the Lease as it is now:
   * its holder and version, with a secret revealed earlier (by anyone) or made up. S1 must hold whatever arrives.
   */
  async word(podIndex: number, how: 'hold' | 'release' | 'deliver' | 'drop' | 'replay' | 'forge', pick: number): Promise<void> {
    const pod = this.pods[podIndex % this.pods.length]!;
    if (how === 'hold' || how === 'release') {
      pod.wordsHeld = how === 'hold';
      if (how === 'release' && !this.clock.frozen.has(pod.id)) for (const m of pod.words.splice(0)) this.hearWord(pod, m);
    } else if (how === 'deliver' || how === 'drop') {
      if (this.clock.frozen.has(pod.id)) return;
      const m = pod.words.shift();
      if (m && how === 'deliver') this.hearWord(pod, m);
      else m?.settle({ name: pod.id, error: 'connection reset' });
    } else if (!pod.exited && !this.clock.frozen.has(pod.id)) {
      const old = this.revealed.length > 0 ? this.revealed[pick % this.revealed.length] : undefined;
      const current = this.store.current();
      const word =
        how === 'replay'
          ? old
          : current && {
              holder: current.record.holderIdentity,
              resourceVersion: current.resourceVersion,
              secret: old && pick % 2 === 0 ? old.secret : pick.toString(16).padStart(64, 'f'),
            };
      if (word) {
        this.tally.forgedOrReplayedHeard++;
        this.hearWord(pod, { word, settle: (d) => void ('answer' in d && d.answer.taking && this.tally.forgedOrReplayedTaken++) });
      }
    }
    await drain();
  }

  /**
   * Y1: the peer watch of `podIndex` says `newer` (another pod's id, or none) is a Ready pod of a newer
   * revision. Any word, true or not, consistent across pods or not: S1 must hold whatever it says.
   */
  newer(podIndex: number, newer: number | undefined): void {
    const pod = this.pods[podIndex % this.pods.length]!;
    if (pod.exited) return;
    this.log.push(`t=${this.clock.t} ${pod.id} sees newer ${newer === undefined ? 'none' : this.pods[newer % this.pods.length]!.id}`);
    pod.inc.sidecar.setNewerPeer(newer === undefined ? undefined : this.pods[newer % this.pods.length]!.id);
  }

  /** The faults stop: everything thaws, the network heals, workers come back. Then one worker must run. */
  async converge(): Promise<void> {
    for (let i = 0; i < this.pods.length; i++) {
      // Y1: the rollout is over (or abandoned): no pod knows of a newer one.
      this.newer(i, undefined);
      this.setNet(i, 'ok');
      this.holdWatch(i, false);
      await this.thaw(i);
      await this.word(i, 'release', 0);
      await this.deliverCalls(i, 'all');
      await this.flushWatch(i, 'in-order');
      this.restartWorker(i);
    }
    // Worst case: a claim seen just now expires after a lease duration, a frozen leader's deadline and
    // the grace of a worker just restarted come on top; then it must hold steady.
    const deadline = this.clock.t + 60_000;
    let steady = 0;
    while (this.clock.t < deadline) {
      await this.clock.advance(2_000);
      this.checkReports();
      const running = this.pods.filter((p) => p.worker.state === 'running');
      const leaders = this.alive().filter((p) => p.inc.sidecar.status().isLeader);
      steady = running.length === 1 && leaders.length === 1 && running[0] === leaders[0] ? steady + 1 : 0;
      if (steady >= 8) return; // one worker, the holder's, steady for more than a lease duration
    }
    const running = this.pods.filter((p) => p.worker.state === 'running').map((p) => p.id);
    this.violation(
      `L1/L2: no convergence to one running worker: running [${running.join(',')}], holder "${this.store.record?.holderIdentity}", alive [${this.alive()
        .map((p) => `${p.id}:${p.inc.elector.snapshot().phase}`)
        .join(',')}]`,
    );
  }
}

/** A pod's LeaseLock: every request goes through the simulated network to the one store. */
class ModelLock implements LeaseLock {
  private readonly world: World;
  private readonly pod: PodState;
  private readonly gen: number;

  constructor(world: World, pod: PodState, gen: number) {
    this.world = world;
    this.pod = pod;
    this.gen = gen;
  }

  describe(): string {
    return `model/${this.pod.id}`;
  }

  get(signal: AbortSignal): Promise<ObservedLease | undefined> {
    return this.world.call(this.pod, this.gen, false, () => this.world.serverGet(), signal);
  }

  create(record: LeaderRecord, signal: AbortSignal): Promise<ObservedLease> {
    return this.world.call(this.pod, this.gen, true, () => this.world.serverCreate(this.pod.id, record), signal) as Promise<ObservedLease>;
  }

  update(record: LeaderRecord, base: ObservedLease, signal: AbortSignal): Promise<ObservedLease> {
    return this.world.call(this.pod, this.gen, true, () => this.world.serverUpdate(this.pod.id, record, base), signal) as Promise<ObservedLease>;
  }
}
