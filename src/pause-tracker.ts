// Pauses and their confirmations. Every pause signal gets an id (readable from GET /leader); a worker
// confirms the pause it has finished with POST /paused {"pause": id}. Only the confirmation of the latest
// pause, while the worker is meant to be paused, ends a handoff's wait: a stale or early one never counts
// as a drain (the new leader would start while the old worker still handles its batch).
import type { Clock, TimerHandle } from './election/clock.ts';
import type { PauseConfirmation, PauseStatus } from './status.ts';

export type PauseWaitOutcome = 'confirmed' | 'timeout' | 'drained' | 'exited';

export interface PauseTrackerOptions {
  clock: Clock;
  /** How long to wait for a worker that has confirmed pauses before (BATON_PAUSE_ACK_TIMEOUT). */
  ackTimeoutMs: number;
  /** How long to wait for a worker that never has (BATON_DRAIN). */
  drainMs: number;
  /**
   * Whether the worker is meant to be paused now: the worker controller's desired state, the one place it
   * is kept (it starts paused; running between a start and the next pause).
   */
  workerPaused: () => boolean;
}

export class PauseTracker {
  private readonly opts: PauseTrackerOptions;
  private id = 0;
  private sentAt: Date | null = null;
  private sentAtMono: number | undefined;
  private confirmedAt: Date | null = null;
  /**
   * This worker process confirms its pauses: it speaks the protocol, so waiting for it is worth it. A
   * property of the worker, learned from any confirmation it sends (even one that came too late or too
   * early to count, such as a boot confirmation that arrives after the pod took the Lease) and from
   * the header the worker kits send with every request (so a restarted sidecar learns it at the
   * worker's next poll); kept until a new worker process appears.
   */
  private confirms = false;
  /** The worker process has exited and no new one has been found: nothing is left to pause. */
  private exited = false;
  private waiters: Array<(outcome: 'confirmed' | 'exited') => void> = [];

  constructor(opts: PauseTrackerOptions) {
    this.opts = opts;
  }

  status(): PauseStatus {
    return { id: this.id, sentAt: this.sentAt?.toISOString() ?? null, confirmedAt: this.confirmedAt?.toISOString() ?? null };
  }

  /** Whether the current worker has shown it confirms pauses. */
  workerConfirms(): boolean {
    return this.confirms;
  }

  /** A pause signal is about to be sent: returns its id. */
  pauseSent(): number {
    this.id += 1;
    this.sentAt = this.opts.clock.wallClock();
    this.sentAtMono = this.opts.clock.now();
    this.confirmedAt = null;
    return this.id;
  }

  /** A new worker process appeared: what the old one showed about confirming no longer holds. */
  workerRestarted(): void {
    this.confirms = false;
  }

  /** A worker process was found (it is there to be paused). */
  workerFound(): void {
    this.exited = false;
  }

  /**
   * The worker process exited. A process that no longer exists polls nothing: a pause being waited for ends
   * now (outcome `exited`) instead of waiting out the ack timeout or the drain. Its unconfirmed batch, if
   * any, is handed out again by Telegram to the next poller, as after any crash.
   */
  workerExited(): void {
    this.exited = true;
    if (!this.opts.workerPaused() || this.confirmedAt) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w('exited');
  }

  /** The worker said it confirms its pauses (a header on its requests to the local API). */
  workerSaysItConfirms(): void {
    this.confirms = true;
  }

  /** A worker's POST /paused. */
  confirm(id: number): PauseConfirmation {
    // Whatever the outcome, the worker has shown that it confirms.
    this.confirms = true;
    if (id > this.id) return 'early';
    if (id < this.id) return 'stale';
    if (!this.opts.workerPaused()) return 'not-paused';
    if (this.confirmedAt) return 'duplicate';
    this.confirmedAt = this.opts.clock.wallClock();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w('confirmed');
    return 'accepted';
  }

  /**
   * Waits until the latest pause is confirmed, for at most the ack timeout when the worker is known to
   * confirm and the drain otherwise. Resolves with the outcome and how long the wait took since the signal.
   */
  wait(): Promise<{ outcome: PauseWaitOutcome; waitedMs: number }> {
    const since = this.sentAtMono ?? this.opts.clock.now();
    const elapsed = () => this.opts.clock.now() - since;
    if (this.confirmedAt) return Promise.resolve({ outcome: 'confirmed', waitedMs: elapsed() });
    if (this.exited) return Promise.resolve({ outcome: 'exited', waitedMs: elapsed() });
    const limit = this.confirms ? this.opts.ackTimeoutMs : this.opts.drainMs;
    const onTimeout: PauseWaitOutcome = this.confirms ? 'timeout' : 'drained';
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined = undefined;
      const done = (outcome: 'confirmed' | 'exited') => {
        timer?.cancel();
        resolve({ outcome, waitedMs: elapsed() });
      };
      this.waiters.push(done);
      timer = this.opts.clock.setTimer(
        () => {
          this.waiters = this.waiters.filter((w) => w !== done);
          resolve({ outcome: onTimeout, waitedMs: elapsed() });
        },
        Math.max(0, limit - elapsed()),
      );
    });
  }
}
