// The kit and the sidecar speak one local API: the sidecar's GET /leader answer is what the kit
// reads, and the kit's "I confirm my pauses" header reaches the pause tracker (a restarted sidecar
// learns it from the worker's next poll, issue 10's boot race).
import { describe, expect, expectTypeOf, it } from 'vitest';
import { pino } from 'pino';
import { createLocalApi } from '../../../src/http/local-api.ts';
import { WORKER_CONFIRMS_HEADER } from '../../../src/http/worker-header.ts';
import { PauseTracker } from '../../../src/pause-tracker.ts';
import type { LeaderStatus as SidecarStatus, PauseConfirmation as SidecarConfirmation } from '../../../src/status.ts';
import type { LeaderStatus as KitStatus, PauseConfirmation as KitConfirmation } from '../../../packages/baton-worker/src/index.ts';
import { CONFIRMS_HEADER } from '../../../packages/baton-worker/src/local-api-client.ts';
import { FakeClock } from '../../harness/fake-clock.ts';

const status: SidecarStatus = {
  identity: 'pod-a',
  isLeader: true,
  holder: 'pod-a',
  epoch: 3,
  since: null,
  renewedAt: '2026-11-23T12:00:10.000000Z',
  timings: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
  lease: { name: 'bot', namespace: 'default' },
  pause: { id: 2, sentAt: null, confirmedAt: null },
  handingOver: false,
};

function setup() {
  const worker = { paused: true };
  const pauses = new PauseTracker({ clock: new FakeClock(0), ackTimeoutMs: 15_000, drainMs: 5_000, workerPaused: () => worker.paused });
  const app = createLocalApi(
    {
      status: () => status,
      subscribe: () => () => {},
      readiness: () => ({ ready: true, missing: [] }),
      health: () => ({ healthy: true }),
      confirmPause: (id) => pauses.confirm(id),
      workerSaysItConfirms: () => pauses.workerSaysItConfirms(),
    },
    { logger: pino({ level: 'silent' }) },
  );
  return { app, pauses, worker };
}

describe('the kit and the sidecar share the local API', () => {
  it("the sidecar's answers are what the kit reads", () => {
    expectTypeOf<SidecarStatus>().toExtend<KitStatus>();
    expectTypeOf<SidecarConfirmation>().toEqualTypeOf<KitConfirmation>();
    expect(CONFIRMS_HEADER).toBe(WORKER_CONFIRMS_HEADER);
  });

  it('GET /leader with the header tells the tracker the worker confirms; without it, nothing', async () => {
    const { app, pauses } = setup();
    await app.inject({ method: 'GET', url: '/leader' });
    expect(pauses.workerConfirms()).toBe(false);
    const res = await app.inject({ method: 'GET', url: '/leader', headers: { [CONFIRMS_HEADER]: '1' } });
    expect(res.json()).toMatchObject({ timings: { renewDeadlineMs: 10_000 } });
    expect(pauses.workerConfirms()).toBe(true);
    await app.close();
  });

  it('POST /paused with the header counts too, even when the confirmation itself is refused', async () => {
    const { app, pauses, worker } = setup();
    worker.paused = false; // the worker was told to run
    const res = await app.inject({ method: 'POST', url: '/paused', headers: { [CONFIRMS_HEADER]: '1' }, payload: { pause: 0 } });
    expect(res.statusCode).toBe(409);
    expect(pauses.workerConfirms()).toBe(true);
    await app.close();
  });
});
