// Polling intervals of a process that was frozen (its pod's processes SIGSTOPped, its cgroup frozen): a frozen
// process polls nothing, whatever its log says (it cannot write "polling-stop" while frozen). After the thaw it
// polls again only if it acts as a poller — sends a getUpdates or handles an update (but the end of the handler
// that was running at the freeze: F1's residual window, whose repeat is counted apart) — and then from the thaw
// to the end of its logged interval, however little it did: a bot fenced by rule F1 does neither and is not
// polling; one that finishes its batch is. Used by the fault suite (e2e/chaos/analysis.ts) and the real node
// (e2e/node/scenario.ts), so both judge a freeze the same way.
import type { PollInterval } from '../../test/harness/timeline.ts';

/** A process (any key unique per process, as in the intervals) frozen from `from` to `to` (ms; Infinity while frozen). */
export interface FrozenProcess {
  pid: number;
  from: number;
  to: number;
}

/**
 * `intervals` with the frozen spans taken out.
 * @param acted whether the process acted as a poller after its thaw (a getUpdates sent, an update handled other
 *   than the one in flight at the freeze)
 */
export function withoutFrozen<F extends FrozenProcess>(intervals: readonly PollInterval[], freezes: readonly F[], acted: (f: F) => boolean): PollInterval[] {
  let out = [...intervals];
  for (const f of freezes) {
    out = out.flatMap((iv) => {
      if (iv.pid !== f.pid || iv.to <= f.from || iv.from >= f.to) return [iv];
      const parts: PollInterval[] = [];
      if (iv.from < f.from) parts.push({ ...iv, to: f.from, cut: false });
      if (iv.to > f.to && acted(f)) parts.push({ ...iv, from: f.to });
      return parts;
    });
  }
  return out.sort((a, b) => a.from - b.from);
}
