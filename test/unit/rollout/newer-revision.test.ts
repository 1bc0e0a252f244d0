// Rule Y1's choice of the peer to yield to (src/rollout/newer-revision.ts).
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { newerPeer, type PeerPod } from '../../../src/rollout/newer-revision.ts';
import { peerPodOf } from '../../../src/kube/peer-watch.ts';

const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 12, 0, s));
const pod = (name: string, revision: string | undefined, createdS: number, extra: Partial<PeerPod> = {}): PeerPod => ({
  name,
  revision,
  createdAt: at(createdS),
  ready: true,
  deleting: false,
  ...extra,
});

describe('Y1: newerPeer', () => {
  const self = pod('bot-old-a', 'old', 0);

  it('picks a Ready pod of another revision created later', () => {
    expect(newerPeer(self, [self, pod('bot-old-b', 'old', 1), pod('bot-new-c', 'new', 30)])?.name).toBe('bot-new-c');
  });

  it('of several, the newest', () => {
    expect(newerPeer(self, [pod('bot-new-c', 'new', 30), pod('bot-new-d', 'new', 40)])?.name).toBe('bot-new-d');
  });

  it('ignores pods that are not Ready, being deleted, of the same revision, or created no later (same second included)', () => {
    expect(
      newerPeer(self, [
        self,
        pod('not-ready', 'new', 30, { ready: false }),
        pod('deleting', 'new', 30, { deleting: true }),
        pod('same-revision', 'old', 30),
        pod('older', 'new', -30),
        pod('same-second', 'new', 0),
        pod('no-revision', undefined, 30),
        pod('no-time', 'new', 30, { createdAt: undefined }),
      ]),
    ).toBeUndefined();
  });

  it('a pod no Deployment made (no pod-template-hash) never yields', () => {
    expect(newerPeer(pod('bare', undefined, 0), [pod('bot-new-c', 'new', 30)])).toBeUndefined();
  });

  it('a rollback: the pods of the older template, created later, are the newer ones', () => {
    const rolledForward = pod('bot-v2-c', 'v2', 30);
    expect(newerPeer(rolledForward, [rolledForward, pod('bot-v1-e', 'v1', 60)])?.name).toBe('bot-v1-e');
    // and the v1 pod yields to nobody: v2 is older than it
    expect(newerPeer(pod('bot-v1-e', 'v1', 60), [rolledForward])).toBeUndefined();
  });

  test.prop([fc.array(fc.record({ rev: fc.constantFrom('a', 'b', 'c'), s: fc.integer({ min: 0, max: 5 }), ready: fc.boolean() }), { maxLength: 6 })])(
    'never two ways: of two pods, at most one yields to the other, and no pod yields to one that yields to it',
    (specs) => {
      const pods = specs.map((x, i) => pod(`p${i}`, x.rev, x.s, { ready: x.ready }));
      for (const p of pods) {
        const n = newerPeer(p, pods);
        if (!n) continue;
        expect(n.ready).toBe(true);
        expect(n.revision).not.toBe(p.revision);
        expect(newerPeer(n, pods)?.name).not.toBe(p.name);
      }
    },
  );
});

describe('peerPodOf', () => {
  it('reads the revision, the creation time (a string on the wire), readiness and the deletion', () => {
    const p = peerPodOf({
      metadata: {
        name: 'bot-1',
        labels: { 'pod-template-hash': 'abc' },
        creationTimestamp: '2026-12-07T12:00:00Z' as unknown as Date,
        deletionTimestamp: '2026-12-07T12:01:00Z' as unknown as Date,
      },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    expect(p).toEqual({ name: 'bot-1', revision: 'abc', createdAt: new Date('2026-12-07T12:00:00Z'), ready: true, deleting: true });
    expect(peerPodOf({ metadata: { name: 'bot-2' }, status: { conditions: [{ type: 'Ready', status: 'False' }] } }).ready).toBe(false);
  });
});
