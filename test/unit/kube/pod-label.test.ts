// PodLabeler's stop (issue 9, item 6 and rule L3): stopping while a patch hangs or keeps failing ends
// the labeler at once — no request after stop, no loop that spins on the microtask queue.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KubeApiError, KubeTransportError } from '../../../src/kube/errors.ts';
import { DELETION_COST_ANNOTATION, PodLabeler } from '../../../src/kube/pod-label.ts';
import { PodLabelRefused, provePodLabelRight } from '../../../src/kube/pod-label-right.ts';
import type { KubeClient, KubeRequest } from '../../../src/kube/rest.ts';
import { sleep } from '../../harness/wait.ts';

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
      await sleep(20);
      labeler.stop();
      await sleep(100);
      expect(runs()).toBeLessThanOrEqual(2);
      const settled = await Promise.race([labeler.settled().then(() => true), new Promise((r) => setTimeout(() => r(false), 200))]);
      expect(settled).toBe(true);
      const after = calls.length;
      labeler.set('standby');
      labeler.observe('standby', '5');
      await sleep(100);
      expect(calls.length).toBe(after);
    });
  }
});

// Issue 18, item 3c: the right to patch the own Pod, proven at start and lost at runtime.
const target = { verb: 'patch', resource: 'pods', namespace: 'ns', name: 'p' };
const forbidden = () =>
  new KubeApiError(
    target,
    403,
    'Forbidden',
    'pods "p" is forbidden: User "system:serviceaccount:ns:bot" cannot patch resource "pods" in API group "" in the namespace "ns"',
  );
const answeredPod = (value: string) => ({
  metadata: {
    resourceVersion: '7',
    labels: { 'baton/role': value },
    annotations: { 'controller.kubernetes.io/pod-deletion-cost': value === 'leader' ? '1000' : '0' },
  },
});

/** A client answering each request with the next scripted outcome (an Error is thrown), recording the requests. */
function scriptedClient(outcomes: Array<unknown>) {
  const calls: KubeRequest[] = [];
  const client = {
    request: (req: KubeRequest) => {
      calls.push(req);
      const next = outcomes.length > 1 ? outcomes.shift() : outcomes[0];
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  } as unknown as KubeClient;
  return { client, calls };
}

function recordingLogger() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } };
}

describe('provePodLabelRight (at start)', () => {
  afterEach(() => vi.useRealTimers());

  it('asks with a server-side dry-run merge patch of the own Pod, so nothing is written', async () => {
    const { client, calls } = scriptedClient([answeredPod('standby')]);
    await expect(provePodLabelRight({ client, namespace: 'ns', podName: 'p' })).resolves.toBe('granted');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      verb: 'patch',
      resource: 'pods',
      method: 'PATCH',
      path: '/api/v1/namespaces/ns/pods/p',
      query: { dryRun: 'All' },
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { 'baton/role': 'standby' }, annotations: { 'controller.kubernetes.io/pod-deletion-cost': '0' } } },
    });
  });

  for (const [status, reason] of [
    [403, 'Forbidden'],
    [422, 'Invalid'],
    [400, 'BadRequest'],
  ] as const) {
    it(`a ${status} (RBAC or an admission policy) is a refusal naming both fixes, in one line, without retrying`, async () => {
      const denial = status === 403 ? forbidden() : new KubeApiError(target, status, reason, 'denied\nby policy');
      const { client, calls } = scriptedClient([denial]);
      const err = await provePodLabelRight({ client, namespace: 'ns', podName: 'p' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PodLabelRefused);
      const message = (err as Error).message;
      expect(message).toMatch(
        new RegExp(`^BATON_POD_LABEL=true, but the API server refuses this sidecar's patch of its own Pod "p" in namespace "ns" \\(${status}\\b`),
      );
      expect(message).toContain('grant `patch` on pods');
      expect(message).toContain('BATON_POD_LABEL=false');
      expect(message).not.toContain('\n');
      expect(calls).toHaveLength(1);
    });
  }

  it('a transient failure (API down, 5xx, 429, timeout) is retried with backoff, never taken for a refusal', async () => {
    vi.useFakeTimers();
    const down = new KubeTransportError(target, 'error', 'connect ECONNREFUSED');
    const busy = new KubeApiError(target, 503, 'ServiceUnavailable', 'etcd not ready');
    const slow = new KubeApiError(target, 429, 'TooManyRequests', 'slow down');
    const { client, calls } = scriptedClient([down, busy, slow, down, answeredPod('standby')]);
    const { lines, logger } = recordingLogger();
    let result: string | undefined;
    void provePodLabelRight({ client, namespace: 'ns', podName: 'p', logger, backoff: { initialMs: 100, maxMs: 400 } }).then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(result).toBe('granted');
    expect(calls).toHaveLength(5);
    // One warning for the outage, then debug lines: a long outage does not flood the log.
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(lines.find((l) => l.level === 'warn')?.obj).toMatchObject({ event: 'pod-label-check' });
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(0);
  });

  it('an absent own Pod is no refusal: the label waits for it (the Pod watch says so)', async () => {
    const { client } = scriptedClient([new KubeApiError(target, 404, 'NotFound', 'pods "p" not found')]);
    await expect(provePodLabelRight({ client, namespace: 'ns', podName: 'p' })).resolves.toBe('pod-absent');
  });
});

describe('PodLabeler when the right is revoked at runtime', () => {
  afterEach(() => vi.useRealTimers());

  it('logs one error with stable fields, retries quietly, and says once when the label is back', async () => {
    vi.useFakeTimers();
    const { client, calls } = scriptedClient([forbidden(), forbidden(), forbidden(), answeredPod('leader')]);
    const { lines, logger } = recordingLogger();
    const labeler = new PodLabeler({ client, namespace: 'ns', podName: 'p', logger, backoff: { initialMs: 100, maxMs: 100 } });
    labeler.set('leader');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toHaveLength(4);
    expect(labeler.applied).toBe('leader');
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.obj).toMatchObject({ event: 'pod-label-refused', label: 'baton/role', value: 'leader', status: 403 });
    expect(errors[0]!.msg).toContain('BATON_POD_LABEL=false');
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(0);
    const restored = lines.filter((l) => l.obj.event === 'pod-label-restored');
    expect(restored).toHaveLength(1);
    expect(restored[0]).toMatchObject({ level: 'info', obj: { label: 'baton/role', value: 'leader' } });
    labeler.stop();
  });
});

// Rule C5: the leader is deleted last. The role label and the deletion cost travel in one patch, and a
// cost someone else changed is put back like the label.
describe('PodLabeler and the deletion cost (C5)', () => {
  const podWith = (role: string, cost: string | undefined, rv: string) => ({
    metadata: { resourceVersion: rv, labels: { 'baton/role': role }, ...(cost === undefined ? {} : { annotations: { [DELETION_COST_ANNOTATION]: cost } }) },
  });

  it('marks a leader dearer than a standby, in the same patch as the label', async () => {
    const { client, calls } = scriptedClient([podWith('leader', '1000', '5'), podWith('standby', '0', '6')]);
    const labeler = new PodLabeler({ client, namespace: 'ns', podName: 'p' });
    labeler.set('leader');
    await labeler.settled();
    labeler.set('standby');
    await labeler.settled();
    expect(calls.map((c) => c.body)).toEqual([
      { metadata: { labels: { 'baton/role': 'leader' }, annotations: { [DELETION_COST_ANNOTATION]: '1000' } } },
      { metadata: { labels: { 'baton/role': 'standby' }, annotations: { [DELETION_COST_ANNOTATION]: '0' } } },
    ]);
    const costOf = (req: KubeRequest) =>
      Number((req.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations[DELETION_COST_ANNOTATION]);
    expect(costOf(calls[0]!)).toBeGreaterThan(costOf(calls[1]!));
  });

  it('puts back a deletion cost changed or removed by someone else, and leaves a right one alone', async () => {
    const { client, calls } = scriptedClient([podWith('leader', '1000', '5')]);
    const labeler = new PodLabeler({ client, namespace: 'ns', podName: 'p' });
    labeler.set('leader');
    await labeler.settled();
    expect(calls).toHaveLength(1);
    labeler.observe('leader', '6', '1000');
    await labeler.settled();
    expect(calls).toHaveLength(1);
    labeler.observe('leader', '7', '0');
    await labeler.settled();
    labeler.observe('leader', '9', undefined);
    await labeler.settled();
    expect(calls).toHaveLength(3);
    expect(calls[2]!.body).toEqual({ metadata: { labels: { 'baton/role': 'leader' }, annotations: { [DELETION_COST_ANNOTATION]: '1000' } } });
  });

  it("an answer that does not carry the patch (a mutating webhook) is asked again at the backoff's pace, never in a spin", async () => {
    vi.useFakeTimers();
    try {
      const { client, calls } = scriptedClient([podWith('leader', undefined, '5')]);
      const { lines, logger } = recordingLogger();
      const labeler = new PodLabeler({ client, namespace: 'ns', podName: 'p', logger, backoff: { initialMs: 100, maxMs: 1000 } });
      labeler.set('leader');
      await vi.advanceTimersByTimeAsync(2_000);
      // 100 + 200 + 400 + 800 ms of backoff fit into 2 s: five patches, not thousands.
      expect(calls.length).toBeGreaterThanOrEqual(4);
      expect(calls.length).toBeLessThanOrEqual(6);
      expect(lines.find((l) => l.obj.event === 'pod-label-mismatch')?.obj).toMatchObject({ value: 'leader', applied: 'leader' });
      labeler.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
