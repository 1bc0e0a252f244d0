// E1: the CLI exits right after close(); the Events of the handoff (LeaderReleased) must be sent by then,
// or given up on after a bound and logged, never dropped silently by the exit (issue 19: sidecar/handoff
// missed the exiting pod's LeaderReleased 1 run in 4).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventRecorder, type EventInput } from '../../../src/kube/events.ts';
import type { KubeClient } from '../../../src/kube/rest.ts';

const EVENT: EventInput = {
  regarding: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: 'bot', namespace: 'ns' },
  type: 'Normal',
  reason: 'LeaderReleased',
  action: 'Release',
  note: 'released',
};

/** An API whose Event POSTs answer only when the test says so. */
function slowApi() {
  const answers: Array<() => void> = [];
  const client = { request: () => new Promise<void>((resolve) => answers.push(resolve)) } as unknown as KubeClient;
  return { client, answerAll: () => answers.splice(0).forEach((a) => a()) };
}

/** Lets pending promise callbacks run (no timers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('EventRecorder.flush(timeoutMs) (E1)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('waits for the Events in flight and returns true once they are sent', async () => {
    const api = slowApi();
    const logger = { warn: vi.fn(), debug: vi.fn() };
    const recorder = new EventRecorder({ client: api.client, identity: 'pod-a', logger, namespace: 'ns' });
    recorder.record(EVENT);
    let result: boolean | undefined;
    void recorder.flush(5_000).then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(result).toBeUndefined();
    api.answerAll();
    await settle();
    expect(result).toBe(true);
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('gives up after timeoutMs on an API that never answers, and logs the Events left unsent', async () => {
    const api = slowApi();
    const logger = { warn: vi.fn(), debug: vi.fn() };
    const recorder = new EventRecorder({ client: api.client, identity: 'pod-a', logger, namespace: 'ns', requestTimeoutMs: 60_000 });
    recorder.record(EVENT);
    recorder.record({ ...EVENT, regarding: { apiVersion: 'v1', kind: 'Pod', name: 'pod-a', namespace: 'ns' } });
    let result: boolean | undefined;
    void recorder.flush(2_000).then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(1_999);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(result).toBe(false);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]![0]).toEqual({ event: 'events-flush', outcome: 'timeout', pending: 2, timeoutMs: 2_000 });
  });

  it('returns at once when nothing is in flight', async () => {
    const recorder = new EventRecorder({ client: slowApi().client, identity: 'pod-a', logger: { warn: vi.fn(), debug: vi.fn() }, namespace: 'ns' });
    let result: boolean | undefined;
    void recorder.flush(1_000).then((r) => (result = r));
    await settle();
    expect(result).toBe(true);
  });
});
