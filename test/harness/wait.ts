// Waiting, for the tests, the e2e runs and the benchmarks alike: one `sleep`, and one `waitFor` that asks a
// condition until it holds or the time is up. (The programs the tests start — test/fixtures/worker.ts,
// e2e/bots/bot.ts — stay dependency-free and keep their own sleep.)

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  /** How often the condition is asked (default 25 ms). */
  everyMs?: number;
  /** Appended to the message when the time is up: what was seen instead (a log's tail, the events so far). */
  detail?: () => string;
}

/**
 * Asks `cond` every `everyMs` until it holds. When it still does not hold after `timeoutMs`, throws "timed out
 * after `timeoutMs` ms waiting for `what`".
 */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000, o: WaitOptions = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${o.detail?.() ?? ''}`);
    await sleep(o.everyMs ?? 25);
  }
}

/** {@link waitFor} a value: asks `get` until `ok` accepts what it returned, and returns that; the last one is shown on a timeout. */
export async function waitForValue<T>(what: string, get: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000, o: WaitOptions = {}): Promise<T> {
  let last: { v: T } | undefined;
  await waitFor(
    what,
    async () => {
      last = { v: await get() };
      return ok(last.v);
    },
    timeoutMs,
    { ...o, detail: () => ` (last: ${last === undefined ? '-' : JSON.stringify(last.v instanceof Map ? [...last.v] : last.v)})${o.detail?.() ?? ''}` },
  );
  return last!.v;
}
