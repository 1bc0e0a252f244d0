import { EventEmitter } from 'node:events';
import { RESYNC_MS, SCAN_INTERVAL_MS } from '../defaults.ts';
import { systemClock, type Clock, type TimerHandle } from '../election/clock.ts';
import { errorText } from '../error-text.ts';
import { describeProcess, type FindResult, type Target, type TargetSource } from './target.ts';

/** What baton wants the worker to do. */
export type DesiredState = 'running' | 'paused';

/** Why a signal went out: a new desired state, a newly seen process, the periodic resync, or a retry after a failed kill. */
export type SignalReason = 'change' | 'new-target' | 'resync' | 'retry' | 'repeat';

/** Identifies one process across PID reuse. */
export interface ProcessIdentity {
  pid: number;
  startTime: number;
}

export interface SignalEvent {
  signal: NodeJS.Signals;
  pid: number;
  state: DesiredState;
  reason: SignalReason;
  result: 'sent' | 'failed';
  /** Why the kill failed, naming the fix. */
  error?: string;
}

/** The controller's events, each with one payload object. */
export interface WorkerEvents {
  'target-found': [{ target: Target; ambiguity?: string }];
  /** `exited`: that process no longer exists (not merely unmatched, or replaced as the target by another). */
  'target-lost': [{ pid: number; startTime: number; reason: string; exited: boolean }];
  /** A new process became ready after another had been: the worker restarted inside the pod. */
  'worker-restarted': [{ previous: ProcessIdentity; target: Target; restarts: number }];
  /** The target's handlers for both signals appeared or went away: whether it may be signalled (and so lead). */
  handlers: [{ pid: number; installed: boolean }];
  signal: [SignalEvent];
}

/** For readiness, `/leader` and metrics. */
export interface WorkerStatus {
  found: boolean;
  pid: number | null;
  /** `SigCgt` shows both signals caught: only then is the worker ever signalled. */
  handlersInstalled: boolean;
  desired: DesiredState;
  /** The last state delivered to the current target, or null. */
  delivered: DesiredState | null;
  restarts: number;
  /** What keeps the worker from getting the desired state, naming the fix. */
  problem?: string;
}

export interface WorkerControllerOptions {
  /** Usually a `TargetFinder`; its signals are the ones sent. */
  finder: TargetSource;
  clock?: Clock;
  /** How often to look for the target (default `SCAN_INTERVAL_MS`, 500 ms). */
  scanIntervalMs?: number;
  /** Re-send the current state this often (default `RESYNC_MS`, 30 s): signals are edges and can be missed. */
  resyncMs?: number;
  /** Default `process.kill`. */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
}

interface Delivery extends ProcessIdentity {
  state: DesiredState;
  at: number;
}

/**
 * Two different signals pending at once are delivered lowest number first (SIGUSR1 before SIGUSR2),
 * whatever order they were sent in. A worker too busy to run its handlers (loading modules at start,
 * say) could so see "pause, start" as "start, pause" and stay paused. A signal that follows one of the
 * other kind within this window is therefore sent once more when the window has passed.
 */
export const REORDER_WINDOW_MS = 1000;

/**
 * Tells the worker process to run or pause, safely: it signals only the process the finder names, only
 * while `SigCgt` shows both signals caught (checked again just before every kill), and at most once per
 * state change per process plus once per resync period.
 */
export class WorkerController extends EventEmitter<WorkerEvents> {
  private readonly finder: TargetSource;
  private readonly clock: Clock;
  private readonly scanIntervalMs: number;
  private readonly resyncMs: number;
  private readonly kill: (pid: number, signal: NodeJS.Signals) => void;

  private desired: DesiredState = 'paused';
  private target: Target | undefined;
  private ready = false;
  private delivered: Delivery | undefined;
  /** When the last signal must be sent once more (see REORDER_WINDOW_MS). */
  private repeatDue: number | undefined;
  private repeatTimer: TimerHandle | undefined;
  /** The last process seen ready: a different one becoming ready is a restart. */
  private lastReady: ProcessIdentity | undefined;
  private restarts = 0;
  private findProblem: string | undefined = 'the worker has not been looked for yet';
  /** The last kill failure for the current target; cleared by a successful kill. */
  private killProblem: string | undefined;
  private timer: TimerHandle | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private startGuard: (() => boolean) | undefined;

  constructor(opts: WorkerControllerOptions) {
    super();
    this.finder = opts.finder;
    this.clock = opts.clock ?? systemClock;
    this.scanIntervalMs = opts.scanIntervalMs ?? SCAN_INTERVAL_MS;
    this.resyncMs = opts.resyncMs ?? RESYNC_MS;
    this.kill = opts.kill ?? ((pid, signal) => void process.kill(pid, signal));
  }

  /** Scans now and every `scanIntervalMs` until `stop()`. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.scan();
  }

  /** Stops scanning and signalling; the worker keeps the last state it was given. */
  stop(): void {
    this.state = 'stopped';
    this.timer?.cancel();
    this.timer = undefined;
    this.repeatTimer?.cancel();
  }

  /**
   * Synchronous, so a leadership change and its signal happen in the same tick: when the target is
   * known and ready the signal goes out before this returns; otherwise the next scan delivers it.
   */
  setDesired(state: DesiredState): void {
    if (state === this.desired) return;
    this.desired = state;
    this.reconcile(true);
  }

  status(): WorkerStatus {
    const t = this.target;
    const s: WorkerStatus = {
      found: t !== undefined,
      pid: t?.pid ?? null,
      handlersInstalled: t !== undefined && this.ready,
      desired: this.desired,
      delivered: t && this.delivered && sameProcess(this.delivered, t) ? this.delivered.state : null,
      restarts: this.restarts,
    };
    const problem = this.killProblem ?? this.findProblem;
    if (problem !== undefined) s.problem = problem;
    return s;
  }

  private scan(): void {
    this.timer = undefined;
    if (this.state !== 'running') return;
    try {
      let result: FindResult;
      try {
        result = this.finder.find();
      } catch (err) {
        result = { found: false, problem: `reading /proc failed: ${errorText(err)}` };
      }
      this.observe(result);
      this.reconcile(false);
    } finally {
      // Rescheduled even if a listener threw, so one bad listener cannot stop the scans.
      if (this.state === 'running') this.timer = this.clock.setTimer(() => this.scan(), this.scanIntervalMs);
    }
  }

  private observe(result: FindResult): void {
    if (!result.found) {
      this.findProblem = result.problem;
      this.loseTarget(result.problem);
      return;
    }
    const t = result.target;
    if (!this.target || !sameProcess(this.target, t)) {
      if (this.target) this.loseTarget(`replaced by ${describeProcess(t)}`);
      this.target = t;
      this.emit('target-found', result.ambiguity === undefined ? { target: t } : { target: t, ambiguity: result.ambiguity });
    } else {
      this.target = t;
    }
    this.setReady(t.catchesStart && t.catchesPause);
  }

  private loseTarget(reason: string): void {
    const t = this.target;
    if (!t) return;
    this.target = undefined;
    this.ready = false;
    this.killProblem = undefined;
    this.emit('target-lost', { pid: t.pid, startTime: t.startTime, reason, exited: this.finder.check(t) === 'gone' });
  }

  private setReady(ready: boolean): void {
    const t = this.target!;
    const changed = this.ready !== ready;
    this.ready = ready;
    if (changed) this.emit('handlers', { pid: t.pid, installed: ready });
    if (!ready) {
      const missing = [t.catchesStart ? undefined : this.finder.startSignal, t.catchesPause ? undefined : this.finder.pauseSignal].filter(Boolean);
      this.findProblem =
        `process ${describeProcess(t)} has not installed handlers for ${missing.length ? missing.join(' and ') : 'its signals'} yet ` +
        `(/proc/${t.pid}/status SigCgt); baton signals it only once it has: the worker must install them before anything else`;
      return;
    }
    this.findProblem = undefined;
    if (this.lastReady && !sameProcess(this.lastReady, t)) {
      this.restarts++;
      this.emit('worker-restarted', { previous: this.lastReady, target: t, restarts: this.restarts });
    }
    this.lastReady = { pid: t.pid, startTime: t.startTime };
  }

  /** Sends the desired state if the target lacks it, or if the resync period has passed. */
  private reconcile(changed: boolean): void {
    const t = this.target;
    if (this.state !== 'running' || !t || !this.ready) return;
    const d = this.delivered && sameProcess(this.delivered, t) ? this.delivered : undefined;
    let reason: SignalReason;
    if (d?.state === this.desired) {
      if (this.repeatDue !== undefined && this.clock.now() >= this.repeatDue) {
        reason = 'repeat';
      } else {
        if (this.clock.now() - d.at < this.resyncMs) return;
        reason = 'resync';
      }
    } else if (changed) {
      reason = 'change';
    } else {
      reason = this.killProblem !== undefined ? 'retry' : d ? 'change' : 'new-target';
    }
    this.send(t, reason);
  }

  /**
   * Asked just before every start signal (rule S1, docs/protocol.md): the sidecar answers whether this pod
   * still leads, judged now. A process resumed after a freeze runs its overdue timers in due order, and a
   * resync due then must not restart a worker that paused itself before the election saw its deadline pass.
   */
  setStartGuard(guard: () => boolean): void {
    this.startGuard = guard;
  }

  private send(t: Target, reason: SignalReason): void {
    if (this.desired === 'running' && this.startGuard && !this.startGuard()) return;
    // Fresh look: the last scan may be up to a scan interval old, and the pid may have been reused since.
    const check = this.finder.check(t);
    if (check !== 'ready') {
      this.ready = false;
      this.findProblem =
        check === 'gone'
          ? `process ${t.pid} exited; looking for the worker again`
          : `process ${describeProcess(t)} no longer has its signal handlers installed`;
      return;
    }
    const state = this.desired;
    const signal = state === 'running' ? this.finder.startSignal : this.finder.pauseSignal;
    try {
      this.kill(t.pid, signal);
    } catch (err) {
      this.killProblem = killErrorText(err, t.pid, signal);
      this.emit('signal', { signal, pid: t.pid, state, reason, result: 'failed', error: this.killProblem });
      return;
    }
    this.killProblem = undefined;
    const previous = this.delivered && sameProcess(this.delivered, t) ? this.delivered : undefined;
    const now = this.clock.now();
    this.repeatDue = undefined;
    if (reason !== 'repeat' && previous && previous.state !== state && now - previous.at < REORDER_WINDOW_MS) {
      this.repeatDue = now + REORDER_WINDOW_MS;
      this.repeatTimer?.cancel();
      this.repeatTimer = this.clock.setTimer(() => this.reconcile(false), REORDER_WINDOW_MS);
    }
    this.delivered = { pid: t.pid, startTime: t.startTime, state, at: now };
    this.emit('signal', { signal, pid: t.pid, state, reason, result: 'sent' });
  }
}

function sameProcess(a: ProcessIdentity, b: ProcessIdentity): boolean {
  return a.pid === b.pid && a.startTime === b.startTime;
}

function killErrorText(err: unknown, pid: number, signal: NodeJS.Signals): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EPERM') {
    return `not allowed to send ${signal} to process ${pid} (EPERM): run baton with the worker's UID (securityContext.runAsUser) or give it CAP_KILL; retrying`;
  }
  if (code === 'ESRCH') return `process ${pid} exited before ${signal} reached it (ESRCH); looking for the worker again`;
  return `sending ${signal} to process ${pid} failed: ${errorText(err)}; retrying`;
}
