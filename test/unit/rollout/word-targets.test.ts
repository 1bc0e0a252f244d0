// Rule W1: which peers a leader tells its word to (src/rollout/word-targets.ts).
import { describe, expect, it } from 'vitest';
import type { PeerPod } from '../../../src/rollout/newer-revision.ts';
import { wordTargets } from '../../../src/rollout/word-targets.ts';

const pod = (name: string, more: Partial<PeerPod> = {}): PeerPod => ({
  name,
  revision: 'r1',
  createdAt: new Date(0),
  ready: true,
  deleting: false,
  ip: `10.0.0.${name.length}`,
  ...more,
});

describe('W1: the word’s targets', () => {
  it('every other Ready pod of the Lease with an address, not being deleted, in name order', () => {
    const peers = [
      pod('self'),
      pod('c-ready', { ip: '10.0.0.3' }),
      pod('a-ready', { ip: '10.0.0.1', revision: 'r2' }),
      pod('not-ready', { ready: false }),
      pod('deleting', { deleting: true }),
      pod('no-ip', { ip: undefined }),
    ];
    expect(wordTargets('self', peers)).toEqual([
      { name: 'a-ready', ip: '10.0.0.1' },
      { name: 'c-ready', ip: '10.0.0.3' },
    ]);
  });

  it('the newer pod alone when Y1 names one: the others defer to it and would only refuse', () => {
    const peers = [pod('self'), pod('old-standby'), pod('new', { revision: 'r2', ip: '10.0.0.9' })];
    expect(wordTargets('self', peers, 'new')).toEqual([{ name: 'new', ip: '10.0.0.9' }]);
    // A newer pod named but without an address yet: nobody (the leader then releases at once).
    expect(wordTargets('self', [pod('self'), pod('new', { ip: undefined })], 'new')).toEqual([]);
  });

  it('none when this pod is alone', () => {
    expect(wordTargets('self', [pod('self')])).toEqual([]);
  });
});
