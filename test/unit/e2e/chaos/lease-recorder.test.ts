// The chaos suite's Lease witness (e2e/chaos/lease-recorder.ts): a plain read can show the recreated Lease
// before the watch delivers its ADDED event (issue 19: "Lease recreated by the next renew: -" although the
// sidecar had recreated it 12 ms after the delete). The verdict waits, bounded, for the event the read proved.
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseRecorder } from '../../../../e2e/chaos/lease-recorder.ts';

function lease(resourceVersion: string, holder: string, transitions: number): k8s.V1Lease {
  return { metadata: { name: 'l', resourceVersion }, spec: { holderIdentity: holder, leaseTransitions: transitions, leaseDurationSeconds: 15 } };
}

let recorder: LeaseRecorder;
let deletedAt: number;
beforeEach(() => {
  vi.useFakeTimers();
  recorder = new LeaseRecorder(new k8s.KubeConfig(), 'ns', 'l');
  recorder.record('ADDED', lease('100', 'pod-a', 1));
  recorder.record('DELETED', lease('101', 'pod-a', 1));
  deletedAt = performance.timeOrigin + performance.now();
  vi.advanceTimersByTime(5);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('LeaseRecorder.addedAfter', () => {
  it('finds a creation whose watch event arrives after the read that showed the Lease back', async () => {
    const found = recorder.addedAfter(deletedAt, '102', 5000);
    await vi.advanceTimersByTimeAsync(40);
    recorder.record('ADDED', lease('102', 'pod-a', 1));
    await vi.advanceTimersByTimeAsync(1);
    expect((await found)?.resourceVersion).toBe('102');
  });

  it('returns the creation, not the renewal the read returned, when both arrive late', async () => {
    const found = recorder.addedAfter(deletedAt, '104', 5000);
    await vi.advanceTimersByTimeAsync(10);
    recorder.record('ADDED', lease('102', 'pod-a', 1));
    recorder.record('MODIFIED', lease('104', 'pod-a', 1));
    await vi.advanceTimersByTimeAsync(1);
    expect((await found)?.resourceVersion).toBe('102');
  });

  it('answers at once when the watch is already there', async () => {
    recorder.record('ADDED', lease('102', 'pod-a', 1));
    await expect(recorder.addedAfter(deletedAt, '102', 5000)).resolves.toMatchObject({ type: 'ADDED', resourceVersion: '102' });
  });

  it('finds nothing when the watch never shows a creation within the bound', async () => {
    const found = recorder.addedAfter(deletedAt, '102', 5000);
    await vi.advanceTimersByTimeAsync(5000);
    await expect(found).resolves.toBeUndefined();
  });

  it('finds nothing when the version the read proved is not a creation after the delete and none came', async () => {
    const found = recorder.addedAfter(deletedAt, '100', 5000);
    await vi.advanceTimersByTimeAsync(5000);
    await expect(found).resolves.toBeUndefined();
  });
});
