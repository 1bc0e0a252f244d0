// The controller against real child processes and the real /proc: SigCgt detection, delivery, restarts.
// Scans are driven by a fake clock; only the children's reactions take real time, and we poll for them.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerController } from '../../../src/worker/controller.ts';
import { TargetFinder } from '../../../src/worker/target.ts';
import { FakeClock } from '../../harness/fake-clock.ts';
import { sleep, waitFor, type WaitOptions } from '../../harness/wait.ts';

// A tiny worker: prints what it gets. Without NO_HANDLERS it installs handlers after HANDLER_DELAY ms.
const CHILD = `
const out = (s) => process.stdout.write(s + '\\n');
const install = () => {
  const at = Date.now(); // taken before installing: any kill that saw the handlers comes after it
  process.on('SIGUSR1', () => out('got SIGUSR1'));
  process.on('SIGUSR2', () => out('got SIGUSR2'));
  out('ready ' + at);
};
if (!process.env.NO_HANDLERS) setTimeout(install, Number(process.env.HANDLER_DELAY || 0));
setInterval(() => {}, 1000);
out('boot');
`;

interface Child {
  proc: ChildProcess;
  pid: number;
  lines: string[];
}

const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Spawns the child with `marker` in its command line, so a command selector finds only it. */
async function spawnChild(marker: string, env: Record<string, string> = {}): Promise<Child> {
  const proc = spawn(process.execPath, ['-e', CHILD, marker], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  const lines: string[] = [];
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  await waitFor('the child to boot', () => lines.includes('boot'), 4_000, OFTEN);
  return { proc, pid: proc.pid!, lines };
}

/** The children answer in milliseconds: ask every 10 ms. */
const OFTEN: WaitOptions = { everyMs: 10 };

function setup(marker: string, resyncMs = 30_000) {
  const clock = new FakeClock();
  const kills: Array<{ pid: number; signal: NodeJS.Signals }> = [];
  const finder = new TargetFinder({ selector: { kind: 'command', pattern: new RegExp(marker) } });
  const controller = new WorkerController({
    finder,
    clock,
    resyncMs,
    kill: (pid, signal) => {
      kills.push({ pid, signal });
      process.kill(pid, signal);
    },
  });
  /** One scan per call; real time passes between calls so the children can act. */
  const scanUntil = async (cond: () => boolean, what: string) =>
    waitFor(
      what,
      () => {
        clock.advance(500);
        return cond();
      },
      4_000,
      OFTEN,
    );
  return { clock, kills, finder, controller, scanUntil };
}

describe('WorkerController with real processes', () => {
  it('never signals a Node process without handlers, and it stays alive', async () => {
    const marker = `baton-test-${randomUUID()}`;
    const child = await spawnChild(marker, { NO_HANDLERS: '1' });
    const { clock, kills, controller } = setup(marker);
    controller.start();
    controller.setDesired('running');
    for (let i = 0; i < 6; i++) {
      clock.advance(500);
      await sleep(20);
    }
    // Node catches SIGUSR1 by itself (the inspector), so SigCgt alone for the start signal proves nothing.
    expect(controller.status()).toMatchObject({ found: true, pid: child.pid, handlersInstalled: false, delivered: null });
    expect(controller.status().problem).toContain('has not installed handlers for SIGUSR2 yet');
    expect(kills).toEqual([]);
    expect(child.proc.exitCode).toBeNull();
    expect(() => process.kill(child.pid, 0)).not.toThrow();
    controller.stop();
  });

  it('waits for the handlers, then delivers pause and start', async () => {
    const marker = `baton-test-${randomUUID()}`;
    const child = await spawnChild(marker, { HANDLER_DELAY: '200' });
    const { kills, controller, scanUntil } = setup(marker);
    let firstKillAt: number | undefined;
    controller.on('signal', () => void (firstKillAt ??= Date.now()));
    controller.start();
    await scanUntil(() => kills.length > 0, 'the first signal');
    await waitFor('the ready line', () => child.lines.some((l) => l.startsWith('ready ')), 4_000, OFTEN);
    const readyAt = Number(child.lines.find((l) => l.startsWith('ready '))!.slice('ready '.length));
    expect(firstKillAt).toBeGreaterThanOrEqual(readyAt);
    expect(kills).toEqual([{ pid: child.pid, signal: 'SIGUSR2' }]);
    await waitFor('the pause to arrive', () => child.lines.includes('got SIGUSR2'), 4_000, OFTEN);

    controller.setDesired('running'); // signalled synchronously
    expect(kills.at(-1)).toEqual({ pid: child.pid, signal: 'SIGUSR1' });
    await waitFor('the start to arrive', () => child.lines.includes('got SIGUSR1'), 4_000, OFTEN);
    expect(controller.status()).toEqual({ found: true, pid: child.pid, handlersInstalled: true, desired: 'running', delivered: 'running', restarts: 0 });
    expect(child.proc.exitCode).toBeNull();
    controller.stop();
  });

  it('re-sends the current state to a restarted worker (new pid)', async () => {
    const marker = `baton-test-${randomUUID()}`;
    const first = await spawnChild(marker);
    const { kills, controller, scanUntil } = setup(marker);
    const restarts: number[] = [];
    controller.on('worker-restarted', (e) => restarts.push(e.target.pid));
    controller.start();
    await scanUntil(() => controller.status().delivered === 'paused', 'the first worker to be paused');
    controller.setDesired('running');
    await waitFor('the first worker to start', () => first.lines.includes('got SIGUSR1'), 4_000, OFTEN);

    first.proc.kill('SIGKILL');
    await waitFor('the first worker to die', () => first.proc.exitCode !== null || first.proc.signalCode !== null, 4_000, OFTEN);
    const second = await spawnChild(marker);
    await scanUntil(() => second.lines.includes('got SIGUSR1'), 'the restarted worker to get the start signal');
    expect(restarts).toEqual([second.pid]);
    expect(kills.filter((k) => k.pid === second.pid)).toEqual([{ pid: second.pid, signal: 'SIGUSR1' }]);
    expect(controller.status()).toMatchObject({ pid: second.pid, delivered: 'running', restarts: 1 });
    controller.stop();
  });

  it('sends a bounded number of signals over many resync periods', async () => {
    const marker = `baton-test-${randomUUID()}`;
    const child = await spawnChild(marker);
    const { clock, kills, controller, scanUntil } = setup(marker, 1_000);
    controller.start();
    await scanUntil(() => kills.length > 0, 'the first signal');
    const received = () => child.lines.filter((l) => l.startsWith('got ')).length;
    await waitFor('the pause to arrive', () => received() === 1, 4_000, OFTEN);
    controller.setDesired('running');
    await waitFor('the start to arrive', () => received() === 2, 4_000, OFTEN);
    const periods = 8;
    for (let i = 0; i < periods; i++) {
      clock.advance(1_000);
      // Let each signal land before the next: pending standard signals of one kind coalesce into one.
      await waitFor('the resync signal to arrive', () => received() === kills.length, 4_000, OFTEN);
    }
    // 1 pause on discovery + 1 start on the change + 1 per resync period, never more.
    expect(kills.length).toBeLessThanOrEqual(2 + periods);
    expect(kills.length).toBeGreaterThanOrEqual(2 + periods - 1);
    expect(kills.every((k) => k.pid === child.pid)).toBe(true);
    expect(child.proc.exitCode).toBeNull();
    controller.stop();
  });
});
