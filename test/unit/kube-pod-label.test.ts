// PodLabeler's stop (issue 9, item 6 and rule L3): stopping while a patch hangs or keeps failing ends
// the labeler at once — no request after stop, no loop that spins on the microtask queue.
import { describe, expect, it, vi } from 'vitest';
import { PodLabeler } from '../../src/kube/pod-label.ts';
import type { KubeClient, KubeRequest } from '../../src/kube/rest.ts';

/** A client whose every request hangs until aborted (or fails at once), counting calls. */
function fakeClient(mode: 'hang' | 'fail') {
  const calls: KubeRequest[] = [];
  const client = {
    request: (req: KubeRequest) => {
      calls.push(req);
      if (mode === 'fail') return Promise.reject(new Error('pods "p" not found'));
      return new Promise((_, reject) => req.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    },
  } as unknown as KubeClient;
  return { client, calls };
}

/** Counts runs of the retry loop; a spinning loop is cut off after 1000 runs so the test can report it. */
function countRuns(labeler: PodLabeler): { runs: () => number } {
  let runs = 0;
  const target = labeler as unknown as { run: () => Promise<void> };
  const original = target.run.bind(labeler);
  vi.spyOn(target, 'run').mockImplementation(() => (++runs > 1000 ? new Promise<void>(() => undefined) : original()));
  return { runs: () => runs };
}

describe('PodLabeler stop', () => {
  for (const mode of ['hang', 'fail'] as const) {
    it(`ends at once when stopped while a patch ${mode === 'hang' ? 'hangs' : 'keeps failing'}`, async () => {
      const { client, calls } = fakeClient(mode);
      const labeler = new PodLabeler({ client, namespace: 'ns', podName: 'p', backoff: { initialMs: 50, maxMs: 50 } });
      const { runs } = countRuns(labeler);
      labeler.set('leader');
      await new Promise((r) => setTimeout(r, 20));
      labeler.stop();
      await new Promise((r) => setTimeout(r, 100));
      expect(runs()).toBeLessThanOrEqual(2);
      const settled = await Promise.race([labeler.settled().then(() => true), new Promise((r) => setTimeout(() => r(false), 200))]);
      expect(settled).toBe(true);
      const after = calls.length;
      labeler.set('standby');
      labeler.observe('standby', '5');
      await new Promise((r) => setTimeout(r, 100));
      expect(calls.length).toBe(after);
    });
  }
});
