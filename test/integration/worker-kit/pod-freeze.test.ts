// Issue 18, the reproduction with real processes: a whole pod — the sidecar and the bot — paused together
// (SIGSTOP, as a GC or VM pause, a frozen node or cgroup does) for longer than the lease while the bot holds a
// batch. The next leader takes over after the lease and handles that batch; on resume the old bot must handle
// nothing more of it and send no getUpdates (F1, docs/protocol.md). The sidecar is the stand-in of the kit's
// tests, frozen with its bot and resumed with the Lease lost to the next leader; the bot is the sample bot
// (e2e/bots, the kit's own loop under leadership()), a real process; Telegram is the double. Judged from the
// double's ledger (requests and deliveries by client) and the bots' logs.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TelegramDouble } from '../../../e2e/telegram/server.ts';
import { preciseNow } from '../../../e2e/telegram/accounting.ts';
import { BOT, BOT_PY } from '../../../e2e/rollout/scenario.ts';
import { readWorkerLog } from '../../harness/timeline.ts';
import { FakeSidecar, KIT } from '../../harness/fake-sidecar.ts';
import { sleep, waitFor } from '../../harness/wait.ts';

// Short timings: lease 3 s, renew deadline 2 s. The pod is frozen for well over the lease.
const TIMINGS = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
const HANDLER_MS = 40;
const BACKLOG = 60;
const token = '123456:podfreeze';
const dir = mkdtempSync(join(tmpdir(), 'baton-pod-freeze-'));

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

interface Logged {
  event: string;
  update?: number;
  at?: string;
  unhandled?: number;
  offset?: number;
}

function bot(kind: 'node' | 'python', name: string, sidecar: FakeSidecar, apiRoot: string): { child: ChildProcess; log: string } {
  const log = join(dir, `${kind}-${name}.jsonl`);
  const child = spawn(kind === 'python' ? 'python3' : process.execPath, [kind === 'python' ? BOT_PY : BOT], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      BATON_URL: sidecar.url,
      TELEGRAM_BOT_TOKEN: token,
      TELEGRAM_API_ROOT: `${apiRoot}/${name}`,
      BOT_NAME: name,
      BOT_LOG: log,
      BOT_FRAMEWORK: 'plain',
      BOT_HANDLER_MS: String(HANDLER_MS),
      BOT_LIMIT: '100',
      BOT_TIMEOUT_S: '30',
    },
  });
  cleanup.push(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  return { child, log };
}

const lines = (log: string) => readWorkerLog(log) as unknown as Logged[];
const handledBy = (log: string) =>
  lines(log)
    .filter((l) => l.event === 'handled')
    .map((l) => l.update!);

describe.each(['node', 'python'] as const)('a whole pod frozen longer than the lease with a batch in hand (%s kit)', (kind) => {
  it('on resume the old bot handles nothing more of the batch the next leader handled, and sends no getUpdates', async () => {
    const double = new TelegramDouble();
    const { url } = await double.start({ tokens: [token] });
    cleanup.push(() => double.stop());
    // Pod a leads: its sidecar renews all along (a fresh renewal in every answer).
    const sidecarA = new FakeSidecar({ identity: 'a', standbyHolder: 'b', isLeader: true, timings: TIMINGS, renewedAt: 'fresh' });
    await sidecarA.listen();
    cleanup.push(() => sidecarA.close());
    const a = bot(kind, 'a', sidecarA, url);
    await waitFor('a polls', () => lines(a.log).some((l) => l.event === 'polling-start') && double.hasParkedPoll({ token }), 30_000, KIT);

    // A backlog: a holds a batch of 2.4 s of work.
    const ids = Array.from({ length: BACKLOG }, (_, i) => double.inject(`u${i}`, { token })!);
    await waitFor('a is into its batch', () => handledBy(a.log).length >= 5, 10_000, KIT);

    // The pod freezes: the bot and its sidecar together.
    a.child.kill('SIGSTOP');
    sidecarA.frozen = true;
    const frozenAt = preciseNow();
    const handledBeforeFreeze = handledBy(a.log);

    // The next leader (pod b) takes the Lease a lease duration after the last renewal it saw, and polls.
    await sleep(TIMINGS.leaseDurationMs + 200);
    const sidecarB = new FakeSidecar({ identity: 'b', standbyHolder: 'a', isLeader: true, timings: TIMINGS, renewedAt: 'fresh' });
    await sidecarB.listen();
    cleanup.push(() => sidecarB.close());
    const b = bot(kind, 'b', sidecarB, url);
    await waitFor('b has handled the backlog', () => ids.every((id) => handledBy(b.log).includes(id)), 30_000, KIT);

    // The pod resumes: its sidecar has lost the Lease to b (it answers with b's record), its bot goes on.
    sidecarA.isLeader = false;
    sidecarA.renewedAt = new Date().toISOString(); // b's renewal: not a's own, proves nothing to a
    sidecarA.frozen = false;
    const frozenMs = preciseNow() - frozenAt;
    const resumedAt = preciseNow();
    a.child.kill('SIGCONT');
    await waitFor('a ends paused', () => lines(a.log).some((l) => l.event === 'polling-stop'), 10_000, KIT);
    await sleep(1_000);

    const aAfter = handledBy(a.log).slice(handledBeforeFreeze.length);
    const aAll = handledBy(a.log);
    const bAll = new Set(handledBy(b.log));
    const twice = aAll.filter((id) => bAll.has(id));
    const aPollsAfter = double.requests().filter((r) => r.type === 'start' && r.client === 'a' && r.at > resumedAt);
    const aDeliveriesAfter = double.deliveries().filter((d) => d.client === 'a' && d.at > resumedAt);
    const fenced = lines(a.log).filter((l) => l.event === 'fenced');
    console.log(
      `${kind}: frozen ${Math.round(frozenMs)} ms; a handled ${handledBeforeFreeze.length} of its batch before the freeze, ` +
        `${aAfter.length} after the resume (the handler in flight), fenced ${JSON.stringify(fenced.map(({ at, unhandled, offset }) => ({ at, unhandled, offset })))}; ` +
        `getUpdates by a after the resume: ${aPollsAfter.length}; handled by both: ${twice.length}`,
    );
    // Nothing more of the batch: at most the one update whose handler was running when the pod froze completes.
    expect(aAfter.length).toBeLessThanOrEqual(1);
    if (aAfter.length === 1) expect(ids.indexOf(aAfter[0]!)).toBe(ids.indexOf(handledBeforeFreeze.at(-1)!) + 1);
    // No getUpdates after the resume: no confirmation, no probe, no poll (nothing delivered to a either).
    expect(aPollsAfter).toEqual([]);
    expect(aDeliveriesAfter).toEqual([]);
    expect(fenced).toHaveLength(1);
    expect(fenced[0]).toMatchObject({ at: 'update' });
    // Handled twice: only what the residual window of F1 allows — the part of the batch handled before the
    // freeze (unconfirmed, so redelivered to b) and the handler in flight.
    expect(twice.every((id) => handledBeforeFreeze.includes(id) || aAfter.includes(id))).toBe(true);
    // a ends paused, and confirms its pause to its sidecar as always.
    await waitFor('a confirms its pause', () => sidecarA.confirmations.length >= 1, 5_000, KIT);
  }, 120_000);
});
