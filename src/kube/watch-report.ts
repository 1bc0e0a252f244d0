// Makes a watch's reconnects visible: every (re)start counted by reason in a metric, each reconnect a
// debug line, and a reconnect loop (several failed attempts in a row) one warning when it begins and
// one info line when the API server answers again — a change is one line, a steady state none.
import type { WatchStart, WatchStartReason } from './object-watcher.ts';

/** The slice of a pino logger the report writes to. */
export interface WatchReportLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Options of {@link watchReport}. */
export interface WatchReportOptions {
  /** Which watch, as the metric label and the log field `watch` name it: `lease`, `pod` or `peers` (rule Y1). */
  watch: string;
  /** How log lines name it, e.g. `Lease "my-bot"`. */
  label: string;
  logger: WatchReportLogger;
  /** Counts one (re)start; usually `BatonMetrics.watchStart`. */
  count(watch: string, reason: WatchStartReason): void;
  /**
   * Failed attempts in a row that make a reconnect loop (default 3). With the watch's backoff (250 ms
   * doubling, jittered) that is about a second of an unreachable API server: a blip stays a debug line.
   */
  loopAfter?: number;
}

/** The default of {@link WatchReportOptions.loopAfter}. */
export const WATCH_LOOP_AFTER = 3;

/** The `onStart` and `onRecovered` hooks of an `ObjectWatcher` (`LeaseWatcher`, `PodWatcher`) that report as described above. */
export function watchReport(o: WatchReportOptions): { onStart: (start: WatchStart) => void; onRecovered: (failures: number) => void } {
  const loopAfter = o.loopAfter ?? WATCH_LOOP_AFTER;
  let firstFailureAt = 0;
  let looping = false;
  return {
    onStart: ({ reason, failures, error }) => {
      o.count(o.watch, reason);
      if (reason === 'initial') return;
      if (failures === 1) firstFailureAt = Date.now();
      o.logger.debug({ event: 'watch-restart', watch: o.watch, reason, failures }, `${o.label} watch: restarting (${reason})`);
      // `failures` passes loopAfter once per loop: it only resets when the API server answers.
      if (failures === loopAfter) {
        looping = true;
        o.logger.warn(
          { event: 'watch-loop', watch: o.watch, reason, failures, err: error },
          `${o.label} watch: ${failures} attempts in a row failed (${error?.message ?? reason}); retrying with backoff until the API server answers`,
        );
      }
    },
    onRecovered: (failures) => {
      const fields = { event: 'watch-recovered', watch: o.watch, failures, failingMs: Date.now() - firstFailureAt };
      const msg = `${o.label} watch: re-established after ${failures} failed attempt(s) in ${Math.round(fields.failingMs / 100) / 10} s`;
      // Only a loop that was warned about gets its end at info: one line for each change.
      if (looping) o.logger.info(fields, msg);
      else o.logger.debug(fields, msg);
      looping = false;
    },
  };
}
