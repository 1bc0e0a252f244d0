// Readiness and the API server's answers (issue 18, item 3c): a call baton's job does not depend on — the
// pod label's patch — must never make /readyz fail when it is refused, or a `maxUnavailable: 0` rollout
// waits for ever on a pod that does its job. The calls it does depend on still do.
import { describe, expect, it } from 'vitest';
import { ApiHealthTally } from '../../../src/api-health.ts';
import { FakeClock } from '../../harness/fake-clock.ts';

describe('ApiHealthTally', () => {
  it('does not report a refused `patch pods` (the pod label) as a readiness problem', () => {
    const tally = new ApiHealthTally(new FakeClock(), 'https://api', 'ns', { optional: ['patch pods'] });
    tally.request('get', 'leases.coordination.k8s.io', '200');
    tally.request('patch', 'pods', '403');
    expect(tally.problem()).toBeUndefined();
  });

  it('still reports a refused call that baton needs, with the fix', () => {
    const tally = new ApiHealthTally(new FakeClock(), 'https://api', 'ns', { optional: ['patch pods'] });
    tally.request('update', 'leases.coordination.k8s.io', '403');
    expect(tally.problem()).toBe('RBAC: the ServiceAccount may not update leases.coordination.k8s.io in namespace ns: grant it in the Role bound to it');
    tally.request('update', 'leases.coordination.k8s.io', '200');
    expect(tally.problem()).toBeUndefined();
  });
});
