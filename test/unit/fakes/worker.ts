// A fake process table for tests of code that drives the WorkerController.
import type { FindResult, Target, TargetCheck, TargetSource } from '../../../src/worker/target.ts';

/** A process table the test edits directly; `find()` returns the one process in it. */
export class StubSource implements TargetSource {
  readonly startSignal = 'SIGUSR1' as const;
  readonly pauseSignal = 'SIGUSR2' as const;
  current: Target | undefined;
  problem = 'no process matches BATON_TARGET_COMMAND /bot/';
  ambiguity: string | undefined;
  throws: Error | undefined;
  /** What a fresh `check()` sees, if different from `current` (a process that changed since the scan). */
  checkOverride: TargetCheck | undefined;

  worker(pid: number, ready: boolean, startTime = pid * 10): void {
    this.current = { pid, startTime, cmdline: ['node', 'bot.js'], catchesStart: true, catchesPause: ready };
  }

  find(): FindResult {
    if (this.throws) throw this.throws;
    if (!this.current) return { found: false, problem: this.problem };
    return this.ambiguity ? { found: true, target: { ...this.current }, ambiguity: this.ambiguity } : { found: true, target: { ...this.current } };
  }

  check(t: Pick<Target, 'pid' | 'startTime'>): TargetCheck {
    if (this.checkOverride) return this.checkOverride;
    const c = this.current;
    if (!c || c.pid !== t.pid || c.startTime !== t.startTime) return 'gone';
    return c.catchesStart && c.catchesPause ? 'ready' : 'no-handlers';
  }
}
