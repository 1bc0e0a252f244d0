// The sidecar: wires the election to the worker, the Lease watch, the own Pod, the local API and the
// reports (log line, metric, Event, pod label) of every leadership change. The rules live in
// src/election; this file only decides what happens when, and keeps every report in agreement.
import type { Logger } from 'pino';
import type { ApiHealth } from './api-health.ts';
import type { ChangeReporters } from './change-reporters.ts';
import { errorText } from './error-text.ts';
import type { Clock } from './election/clock.ts';
import { RELEASE_EVENT_WAIT_MS } from './defaults.ts';
import type { Elector, ElectorEvent, WordAnswer } from './election/elector.ts';
import type { TakeoverWord } from './election/takeover.ts';
import type { BatonMetrics } from './metrics.ts';
import type { PauseTracker } from './pause-tracker.ts';
import type { Health, LeaderStatus, LeaseTimings, PauseConfirmation, Readiness } from './status.ts';
import type { WorkerController } from './worker/controller.ts';

/** How the sidecar learned it must hand over: its pod ends (`SIGTERM`, `deletion`), or a newer revision is ready (Y1). */
export type HandoffTrigger = 'SIGTERM' | 'deletion' | 'newer-revision';

/** W1: tells the standbys a leader's word and says who will take over on it. */
export interface WordChannel {
  /** Resolves with the standbys told and those taking over; `declined`: nobody will (release at once). */
  offer(word: TakeoverWord): Promise<{ told: string[]; taking: string[]; declined: boolean }>;
}

/** Everything the sidecar is given; `src/assemble.ts` builds it for the real pod and for the tests alike. */
export interface SidecarOptions {
  identity: string;
  leaseName: string;
  namespace: string;
  /** Published in GET /leader for the worker's dead-man's switch. */
  timings: LeaseTimings;
  /**
   * The election's per-request timeout: `/healthz` fails when a request outlives twice this (rule L4), and a
   * handoff waits at most twice this for an acquire in flight (L2, L3).
   */
  requestTimeoutMs: number;
  /** Rule L1's grace, for the report of a step-aside (the elector keeps the rule). */
  workerGraceMs: number;
  /** How often eligibility and readiness are re-evaluated (the worker scan publishes changes too). */
  evaluateEveryMs: number;
  /**
   * Y1: how long after a pod of a newer revision is seen Ready the leader hands over to it
   * (BATON_YIELD_TO_NEWER); undefined: never (the pod's end is then the only handoff).
   */
  yieldDelayMs?: number | undefined;
  /** Rule W1: how a leader's word reaches the standbys; undefined: off (every handoff releases). */
  wordChannel?: WordChannel | undefined;
  clock: Clock;
  logger: Logger;
  metrics: BatonMetrics;
  elector: Elector;
  worker: WorkerController;
  pauses: PauseTracker;
  reporters: ChangeReporters;
  api: ApiHealth;
}

/**
 * Each fact is kept in one place and read from there: whether the worker is told to run is the worker
 * controller's desired state (the pause tracker reads it too), whether a handoff has begun is the elector's
 * `retired`, whether this pod holds the Lease is the elector's.
 */
export class Sidecar {
  private readonly o: SidecarOptions;
  private handoff: Promise<void> | undefined;
  private readonly subscribers = new Set<(s: LeaderStatus) => void>();
  private lastPublished = '';
  private stopped = false;
  private evaluateTimer: { cancel(): void } | undefined;
  /** E1: a handoff's `standby` label waits with the release's Event (`holdLabel`). */
  private labelHeld = false;
  /** Y1: the Ready pod of a newer revision this pod yields to, as the peer watch last said. */
  private newer: string | undefined;
  private yieldTimer: { cancel(): void } | undefined;
  /** Y1: a yield's handoff has ended; the elector is asked to rejoin until it can (nothing in flight). */
  private rejoinPending = false;
  /** The pod is ending (SIGTERM or its deletion): a retirement is for good, a yield never rejoins. */
  private leaving = false;
  /** E1: the release's Event, held until the successor's acquire shows (`holdUntilSuccessor`). */
  private held: { send: () => void; timer: { cancel(): void }; sent: Promise<void>; resolve: () => void } | undefined;

  constructor(o: SidecarOptions) {
    this.o = o;
  }

  start(): void {
    const { elector, worker, metrics } = this.o;
    elector.on((e) => this.onElection(e));
    worker.on('target-found', ({ target, ambiguity }) => {
      this.o.pauses.workerFound();
      this.o.logger.info({ event: 'worker', change: 'found', pid: target.pid, ambiguity }, `worker found: pid ${target.pid}`);
      this.evaluate();
    });
    worker.on('target-lost', ({ pid, reason, exited }) => {
      this.o.logger.warn({ event: 'worker', change: 'lost', pid, reason, exited }, `worker lost: pid ${pid} (${reason})`);
      // An exited worker is paused for good: a handoff waiting for its confirmation releases now.
      if (exited) this.o.pauses.workerExited();
      this.evaluate();
    });
    worker.on('handlers', ({ pid, installed }) => {
      this.o.logger.info(
        { event: 'worker', change: installed ? 'handlers-installed' : 'handlers-missing', pid },
        `worker pid ${pid} ${installed ? 'catches both signals: it may be signalled' : 'does not catch both signals: it is not signalled'}`,
      );
      this.evaluate();
    });
    worker.on('worker-restarted', ({ previous, target, restarts }) => {
      metrics.workerRestart();
      this.o.pauses.workerRestarted();
      this.o.logger.warn(
        { event: 'worker', change: 'restarted', pid: target.pid, previousPid: previous.pid, restarts, state: worker.status().desired },
        `worker restarted: pid ${previous.pid} → ${target.pid}; sending it the current state (${worker.status().desired})`,
      );
      this.evaluate();
    });
    worker.on('signal', (s) => {
      metrics.signal(s.signal, s.result);
      const fields = { event: 'signal', signal: s.signal, pid: s.pid, state: s.state, reason: s.reason, result: s.result, error: s.error };
      if (s.result === 'sent') this.o.logger.debug(fields, `sent ${s.signal} (${s.state}) to pid ${s.pid}`);
      else this.o.logger.error(fields, `could not send ${s.signal} to pid ${s.pid}: ${s.error}`);
    });
    // S1: a start signal (asked only while the worker is told to run) goes out only while this pod still
    // leads, judged at that moment.
    worker.setStartGuard(() => !this.isHandingOver && elector.confirmLeadership());
    this.report('standby');
    worker.start();
    elector.start();
    this.evaluate();
  }

  /** Re-evaluates eligibility and readiness; runs on worker events and on a short timer. */
  private evaluate(): void {
    if (this.stopped) return;
    this.evaluateTimer?.cancel();
    const w = this.o.worker.status();
    this.o.elector.setEligible(w.found && w.handlersInstalled);
    // Y1: while a Ready pod of a newer revision is there, this pod takes no Lease (it leaves it to that pod).
    // Not through eligibility: L1 releases an ineligible leader without waiting for its worker's pause.
    this.o.elector.setDeferring(this.newer !== undefined);
    if (this.rejoinPending && !this.leaving && this.o.elector.rejoin()) {
      this.rejoinPending = false;
      this.o.logger.info({ event: 'yield', phase: 'rejoined', newer: this.newer ?? null }, 'yield ended: this pod is a standby again');
    }
    this.considerYield();
    this.o.metrics.setReady(this.readiness().ready);
    this.publish();
    this.evaluateTimer = this.o.clock.setTimer(() => this.evaluate(), this.o.evaluateEveryMs);
  }

  // ---- leadership changes: each one log line, one metric change, one Event, the label -----------

  private onElection(e: ElectorEvent): void {
    const { logger, metrics, worker, reporters } = this.o;
    switch (e.type) {
      case 'acquired': {
        if (e.retiring || this.isHandingOver) {
          // L2: taken by an acquire that was in flight when the handoff began. The worker is never started;
          // the elector releases the Lease at once. Reported all the same (C2), as a change that did happen.
          metrics.transition('acquired');
          metrics.setEpoch(e.record.leaseTransitions);
          const note =
            `${this.o.identity} acquired the Lease ${this.o.leaseName} (epoch ${e.record.leaseTransitions}) ` +
            `while handing over: releasing it at once, worker not started`;
          reporters.event?.('Normal', 'LeaderElected', 'Acquire', note);
          logger.info({ event: 'leadership', change: 'acquired', epoch: e.record.leaseTransitions, retiring: true }, note);
          break;
        }
        worker.setDesired('running');
        this.report('leader');
        metrics.transition('acquired');
        metrics.setEpoch(e.record.leaseTransitions);
        if (e.waitedMs !== undefined) metrics.acquireAfterRelease(e.waitedMs / 1000);
        const note = `${this.o.identity} became the leader of Lease ${this.o.leaseName} (epoch ${e.record.leaseTransitions})`;
        reporters.event?.('Normal', 'LeaderElected', 'Acquire', note);
        logger.info({ event: 'leadership', change: 'acquired', epoch: e.record.leaseTransitions, waitedMs: e.waitedMs, pid: worker.status().pid }, note);
        break;
      }
      case 'lost': {
        // Pause first: the worker must be stopped before any standby may take the Lease.
        const pauseId = this.stepDown();
        metrics.transition('lost');
        const note = `${this.o.identity} lost the Lease ${this.o.leaseName} (${e.reason}); worker paused (pause ${pauseId})`;
        reporters.event?.('Warning', 'LeaderLost', 'Pause', note);
        logger.warn({ event: 'leadership', change: 'lost', reason: e.reason, pause: pauseId, err: e.error }, note);
        break;
      }
      case 'claimed': {
        // S1: this pod created the Lease; its worker starts only once the claim has stood a lease duration.
        const inMs = Math.max(0, Math.round(e.startsAt - this.o.clock.now()));
        logger.info(
          { event: 'leadership', change: 'claimed', epoch: e.record.leaseTransitions, startsInMs: inMs },
          `${this.o.identity} created the Lease ${this.o.leaseName} (epoch ${e.record.leaseTransitions}); ` +
            `its worker starts in ${inMs} ms, once any previous holder's worker has surely stopped`,
        );
        break;
      }
      case 'claim-lost':
        logger.warn(
          { event: 'leadership', change: 'claim-lost', reason: e.reason },
          `${this.o.identity} lost its claim on the Lease ${this.o.leaseName} (${e.reason}) before leading; its worker was never started`,
        );
        break;
      case 'releasing':
        // L1: stepping aside because the worker is gone: make sure a worker that comes back is not started.
        if (e.reason === 'worker-gone') this.stepDown();
        break;
      case 'offer':
        this.offerWord(e.word);
        break;
      case 'released': {
        this.stepDown(e.reason === 'handoff');
        metrics.transition('released');
        const why = e.reason === 'worker-gone' ? `its worker has been gone for ${this.o.workerGraceMs} ms` : 'for the next pod';
        const successor = this.o.elector.snapshot().observed?.record.holderIdentity;
        const note = e.takenOver
          ? `${this.o.identity} handed the Lease ${this.o.leaseName} (epoch ${e.record.leaseTransitions}) over to ${successor} on its word, ${why}`
          : `${this.o.identity} released the Lease ${this.o.leaseName} (epoch ${e.record.leaseTransitions}) ${why}`;
        this.holdUntilSuccessor(() => {
          this.sendHeldLabel();
          reporters.event?.(e.reason === 'worker-gone' ? 'Warning' : 'Normal', 'LeaderReleased', 'Release', note);
        });
        logger.info(
          {
            event: 'leadership',
            change: 'released',
            reason: e.reason,
            epoch: e.record.leaseTransitions,
            ...(e.takenOver ? { takenOver: true, successor } : {}),
          },
          note,
        );
        break;
      }
      case 'renewed':
        metrics.renew(e.durationMs / 1000, 'success');
        metrics.setLastRenew((e.record.renewTime ?? this.o.clock.wallClock()).getTime() / 1000);
        break;
      case 'renew-failed':
        metrics.renew(e.durationMs / 1000, e.result);
        logger.warn({ event: 'renew-failed', result: e.result, err: e.error }, `could not renew the Lease (${e.result}): ${errorText(e.error)}`);
        break;
      case 'observed': {
        if (e.lease) metrics.setEpoch(e.lease.record.leaseTransitions);
        if (this.successorShows(e.lease?.record.holderIdentity)) this.sendHeld();
        logger.debug({ event: 'observed', holder: e.lease?.record.holderIdentity, epoch: e.lease?.record.leaseTransitions }, 'Lease changed');
        break;
      }
      case 'error':
        logger.warn({ event: 'api-error', op: e.op, err: e.error }, `${e.op} failed: ${errorText(e.error)}; retrying`);
        break;
    }
    // Y1: a pod that came to lead while a newer pod is Ready (an acquire in flight, a claim) hands over too.
    if (this.newer !== undefined && e.type === 'acquired') this.considerYield();
    this.publish();
  }

  // ---- W1: the takeover on the leader's word -----------------------------------------------------

  /** W1: the worker has paused: tell the standbys; when none will take over, the elector releases at once. */
  private offerWord(word: TakeoverWord): void {
    const { elector, logger, wordChannel } = this.o;
    const declined = () => elector.offerDeclined(word.resourceVersion);
    if (!wordChannel) return declined();
    wordChannel.offer(word).then(
      (r) => {
        logger.info(
          { event: 'handoff', phase: 'offer', told: r.told, taking: r.taking },
          r.taking.length > 0
            ? `handoff: told ${r.told.length} pod(s) the worker paused; ${r.taking.join(', ')} take(s) over`
            : r.declined
              ? `handoff: told ${r.told.length} pod(s) the worker paused; none takes over: releasing`
              : `handoff: told ${r.told.length} pod(s) the worker paused; none has taken over yet: releasing at the offer's end unless one does`,
        );
        if (r.declined) declined();
      },
      (err: unknown) => {
        logger.warn({ event: 'handoff', phase: 'offer', err }, `handoff: could not tell the standbys: ${errorText(err)}; releasing`);
        declined();
      },
    );
  }

  /**
   * W1: a word heard from the leader of this Lease (POST /takeover). The elector judges it: proven, this pod
   * takes the Lease as it would a release of that version.
   */
  hearWord(word: TakeoverWord): WordAnswer {
    const answer = this.o.elector.word(word);
    this.o.logger.debug({ event: 'takeover-word', holder: word.holder, resourceVersion: word.resourceVersion, ...answer }, `word of ${word.holder} heard`);
    return answer;
  }

  // ---- Y1: yielding to a pod of a newer revision -----------------------------------------------

  /**
   * Y1: the peer watch's word on the newest Ready pod of a newer revision (undefined: none). A leader hands
   * over to it `yieldDelayMs` later, as it would on SIGTERM, and stays as a standby; a standby does not
   * contend for the Lease while it is there. Ignored when yielding is off.
   */
  setNewerPeer(name: string | undefined): void {
    if (this.o.yieldDelayMs === undefined || name === this.newer) return;
    this.newer = name;
    if (name !== undefined)
      this.o.logger.info({ event: 'yield', phase: 'newer-ready', newer: name }, `pod ${name} of a newer revision is ready: this pod yields the Lease to it`);
    else this.o.logger.info({ event: 'yield', phase: 'newer-gone', newer: null }, 'no pod of a newer revision is ready any more: this pod may lead again');
    this.evaluate();
  }

  /** Starts the yield timer while this pod leads and a newer pod is ready; cancels it once either ends. */
  private considerYield(): void {
    const wanted = this.newer !== undefined && !this.leaving && !this.handoff && this.o.elector.isLeader();
    if (!wanted) {
      this.yieldTimer?.cancel();
      this.yieldTimer = undefined;
      return;
    }
    this.yieldTimer ??= this.o.clock.setTimer(() => {
      this.yieldTimer = undefined;
      if (this.newer === undefined || this.leaving || this.handoff || !this.o.elector.isLeader()) return;
      void this.o.elector.retire();
      this.handoff = this.runHandoff('newer-revision').then(() => this.yieldEnded());
      this.publish();
    }, this.o.yieldDelayMs ?? 0);
  }

  /** A yield's handoff is over: unless the pod is ending meanwhile, it becomes a standby that may lead again. */
  private yieldEnded(): void {
    if (this.leaving || this.stopped) return;
    this.handoff = undefined;
    this.rejoinPending = true;
    this.evaluate();
  }

  /**
   * E1: the release's Event goes out once the Lease shows another holder (or none at all), or after
   * `RELEASE_EVENT_WAIT_MS`: sent with the release, it reached the API server beside the successor's acquire,
   * on the gap's path. The log line and the metric are not held. A handoff resolves once it is sent, so the
   * shutdown's flush of the Events in flight covers it.
   */
  private holdUntilSuccessor(send: () => void): void {
    this.sendHeld();
    // C2: the successor's record may come before our release's answer; then there is nothing to wait for.
    if (this.successorShows(this.o.elector.snapshot().observed?.record.holderIdentity)) return send();
    let resolve!: () => void;
    const sent = new Promise<void>((r) => (resolve = r));
    const timer = this.o.clock.setTimer(() => this.sendHeld(), RELEASE_EVENT_WAIT_MS);
    this.held = { send, timer, sent, resolve };
  }

  /** The Lease, as last seen, no longer waits for a successor: another pod holds it, or it is gone. */
  private successorShows(holder: string | undefined): boolean {
    return holder === undefined || (holder !== '' && holder !== this.o.identity);
  }

  private sendHeld(): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    held.timer.cancel();
    held.send();
    held.resolve();
  }

  /**
   * The leader gauge and the pod label, which always say the same (C2) — but for a handoff's label, held
   * (`holdLabel`) from its pause until the successor's acquire shows, as E1 holds the release's Event.
   */
  private report(role: 'leader' | 'standby'): void {
    this.labelHeld = false;
    this.o.metrics.setLeader(role === 'leader');
    this.o.reporters.label?.(role);
  }

  /**
   * E1, for the label: a handoff's `standby` label (and deletion cost, C5) is a Pod patch that, sent with the
   * pause, reached the API server beside the release in all 8 real-node handoffs looked at (18–45 ms after the
   * pause, 9–38 ms before the release's answer), with the admission policy, the kubelet and the ReplicaSet
   * controller all woken by it. The gauge changes at once; the label goes with the release's Event (`released`
   * holds both until the successor shows, `RELEASE_EVENT_WAIT_MS` at most), or at once on any other change.
   */
  private holdLabel(): void {
    if (!this.o.reporters.label) return this.report('standby');
    this.o.metrics.setLeader(false);
    this.labelHeld = true;
  }

  /** Sends a held label, if any. */
  private sendHeldLabel(): void {
    if (this.labelHeld) this.report('standby');
  }

  /** True while a handoff holds the `standby` label back (`holdLabel`); the model's C2 check reads it. */
  get labelIsHeld(): boolean {
    return this.labelHeld;
  }

  /** Whether the worker is told to run: this pod leads and has started it. */
  private workerRuns(): boolean {
    return this.o.worker.status().desired === 'running';
  }

  /**
   * Stops leading: pauses the worker if it was told to run, reports standby, and returns the pause's id.
   * Idempotent. A handoff holds the label until its release's Event goes (`holdLabel`).
   */
  private stepDown(handoff = false): number {
    const id = this.pauseWorker();
    if (handoff && !this.labelHeld) this.holdLabel();
    else if (!handoff) this.report('standby');
    return id;
  }

  /** Tells the worker to pause and returns the pause's id; while it is paused already, the last pause's id. */
  private pauseWorker(): number {
    if (!this.workerRuns()) return this.o.pauses.status().id;
    // The pause gets its id before the signal leaves: a worker may confirm it at once.
    const id = this.o.pauses.pauseSent();
    this.o.worker.setDesired('paused');
    this.publish();
    return id;
  }

  // ---- handoff ------------------------------------------------------------------------------------

  /**
   * Begins the graceful handoff (once; later calls return the same promise). From now on this pod never
   * takes the Lease again. A leader pauses its worker, waits for the confirmation (or the drain), then
   * releases the Lease so a watching standby takes it within a round trip.
   */
  handOver(trigger: HandoffTrigger): Promise<void> {
    // The pod ends: a yield under way finishes as this handoff (it never rejoins), a pending rejoin is dropped.
    this.leaving = true;
    this.rejoinPending = false;
    this.yieldTimer?.cancel();
    this.yieldTimer = undefined;
    if (this.handoff) return this.handoff;
    void this.o.elector.retire(); // at once: no acquire may start from now on (runHandoff waits for one in flight)
    this.handoff = this.runHandoff(trigger);
    this.publish();
    return this.handoff;
  }

  private async runHandoff(trigger: HandoffTrigger): Promise<void> {
    const { logger, metrics, elector, pauses } = this.o;
    // L2: an acquire in flight finishes first; one that won is released again by the elector, unstarted.
    // L3: but never wait longer than a stuck loop would take to show on /healthz (twice the request timeout).
    await new Promise<void>((resolve) => {
      const timer = this.o.clock.setTimer(resolve, 2 * this.o.requestTimeoutMs);
      void elector.retire().then(() => {
        timer.cancel();
        resolve();
      });
    });
    if (!elector.isLeader()) {
      logger.info({ event: 'handoff', trigger, leader: false }, `handoff (${trigger}): not the leader, nothing to hand over`);
      return;
    }
    const pauseId = this.stepDown(true);
    const confirms = pauses.workerConfirms();
    logger.info(
      { event: 'handoff', phase: 'pause', trigger, pause: pauseId, waitsFor: confirms ? 'confirmation' : 'drain' },
      `handoff (${trigger}): worker told to pause (pause ${pauseId}); waiting for ${confirms ? 'its confirmation' : 'the drain'}`,
    );
    const { outcome, waitedMs } = await pauses.wait();
    metrics.pauseWait(waitedMs / 1000, outcome);
    const fields = { event: 'handoff', phase: 'paused', outcome, waitedMs: Math.round(waitedMs) };
    if (outcome === 'timeout') logger.warn(fields, `handoff: the worker did not confirm pause ${pauseId} within ${Math.round(waitedMs)} ms; releasing anyway`);
    else logger.info(fields, `handoff: worker paused (${outcome}) after ${Math.round(waitedMs)} ms`);
    const released = await elector.release();
    if (!released) logger.warn({ event: 'handoff', phase: 'release', released }, 'handoff: could not release the Lease; it expires by itself');
    // E1: the release's Event is held until the successor's acquire shows; the handoff ends once it is sent.
    await this.held?.sent;
  }

  /** Stops everything. A leader that never released lets its Lease expire. */
  stop(): void {
    this.sendHeld();
    this.sendHeldLabel();
    this.stopped = true;
    this.evaluateTimer?.cancel();
    this.yieldTimer?.cancel();
    this.o.elector.stop();
    this.o.worker.stop();
    for (const s of this.subscribers) this.subscribers.delete(s);
  }

  // ---- what the local API and the probes read -----------------------------------------------------

  status(): LeaderStatus {
    const snap = this.o.elector.snapshot();
    const r = snap.observed?.record;
    return {
      identity: this.o.identity,
      isLeader: this.workerRuns() && snap.isLeader,
      holder: r?.holderIdentity ?? '',
      // S2: the highest epoch seen, so /leader never shows a smaller one — not after a deletion, nor a hand edit.
      epoch: Math.max(r?.leaseTransitions ?? 0, snap.maxEpoch, 0),
      since: r?.acquireTime && r.holderIdentity ? r.acquireTime.toISOString() : null,
      renewedAt: r?.renewTime ? r.renewTime.toISOString() : null,
      timings: this.o.timings,
      lease: { name: this.o.leaseName, namespace: this.o.namespace },
      pause: this.o.pauses.status(),
      handingOver: snap.retired,
    };
  }

  subscribe(listener: (s: LeaderStatus) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  private publish(): void {
    const s = this.status();
    const text = JSON.stringify(s);
    if (text === this.lastPublished) return;
    this.lastPublished = text;
    for (const l of [...this.subscribers]) {
      try {
        l(s);
      } catch {
        // a failing subscriber (a closed SSE stream) must not stop the others
      }
    }
  }

  /** Ready when the API answers, the Lease has been observed and the worker is found with handlers — never "is leader". */
  readiness(): Readiness {
    const missing: string[] = [];
    const api = this.o.api.problem();
    if (api) missing.push(api);
    if (!this.o.elector.snapshot().leaseKnown) missing.push(`the Lease ${this.o.namespace}/${this.o.leaseName} has not been read yet`);
    const w = this.o.worker.status();
    if (!w.found || !w.handlersInstalled) missing.push(w.problem ?? 'the worker process has not been found');
    return { ready: missing.length === 0, missing };
  }

  /**
   * Rule L4: fails only when the election loop is stuck — a request to the API server that has not settled
   * for longer than twice the request timeout, although the elector aborts every request at that timeout.
   * Then the loop can neither renew nor step aside nor hand over, and only a restart helps. A slow or
   * unreachable API server is not "stuck": its requests time out and the loop goes on (see /readyz).
   */
  health(): Health {
    const snap = this.o.elector.snapshot();
    const limit = 2 * this.o.requestTimeoutMs;
    if (snap.busySince !== undefined) {
      const since = this.o.clock.now() - snap.busySince;
      if (since > limit) {
        return {
          healthy: false,
          reason:
            `the election loop is stuck: a request to the API server ` +
            `has not settled for ${Math.round(since)} ms (limit ${limit} ms, twice the request timeout)`,
        };
      }
    }
    return { healthy: true };
  }

  confirmPause(id: number): PauseConfirmation {
    const result = this.o.pauses.confirm(id);
    // Only a pause's first confirmation is news. The worker kit confirms again each pause signal the 30 s
    // resync re-sends ('duplicate': debug, or a standby logs it forever), and POST /paused already warns
    // of a refused one with its explanation.
    this.o.logger[result === 'accepted' ? 'info' : 'debug']({ event: 'pause-confirmation', pause: id, result }, `worker confirmed pause ${id}: ${result}`);
    this.publish();
    return result;
  }

  /** True once a handoff has begun: the elector is retired and never acquires again (L2). The Pod watch uses it to log the deletion once. */
  get isHandingOver(): boolean {
    return this.o.elector.snapshot().retired;
  }
}
