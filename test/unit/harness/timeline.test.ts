// The worker log reader (test/harness/timeline.ts) is read while the bots write: a scenario waits on it.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWorkerLog } from '../../harness/timeline.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('readWorkerLog', () => {
  it('reads complete lines and leaves a line still being written for the next read', () => {
    dir = mkdtempSync(join(tmpdir(), 'baton-timeline-'));
    const file = join(dir, 'w.jsonl');
    const line = (update: number) => JSON.stringify({ t: update, mono: update, pid: 1, name: 'a', event: 'handled', update });
    // The chaos verdict's wait for the backlog read a log mid-write: the half line threw, the wait ended early
    // and the rest of the backlog was counted lost (datastore-stopped, 206 of 480).
    writeFileSync(file, `${line(1)}\n${line(2)}\n${line(3).slice(0, 20)}`);
    expect(readWorkerLog(file).map((l) => l.t)).toEqual([1, 2]);
    writeFileSync(file, `${line(1)}\n${line(2)}\n${line(3)}\n`);
    expect(readWorkerLog(file).map((l) => l.t)).toEqual([1, 2, 3]);
  });

  it('a log not written yet is empty', () => {
    expect(readWorkerLog(join(tmpdir(), 'baton-no-such-log.jsonl'))).toEqual([]);
  });
});
