// The test harness's datastore switch (test/kube/datastore.ts): etcd by default, kine on request, the
// watch cache on or off; a typo is refused rather than quietly testing etcd.
import { describe, expect, it } from 'vitest';
import { apiserverStorageArgs, datastoreArgs, datastoreFromEnv, describeDatastore } from '../../kube/datastore.ts';

describe('datastoreFromEnv', () => {
  it('is etcd with the watch cache on when nothing is set', () => {
    expect(datastoreFromEnv({})).toEqual({ kind: 'etcd', watchCache: true });
  });
  it('reads kine and the watch cache off', () => {
    expect(datastoreFromEnv({ BATON_TEST_DATASTORE: 'kine', BATON_TEST_WATCH_CACHE: 'off' })).toEqual({ kind: 'kine', watchCache: false });
  });
  it('refuses an unknown datastore or watch-cache value, naming the variable', () => {
    expect(() => datastoreFromEnv({ BATON_TEST_DATASTORE: 'k3s' })).toThrow(/BATON_TEST_DATASTORE=k3s: expected etcd or kine/);
    expect(() => datastoreFromEnv({ BATON_TEST_WATCH_CACHE: 'false' })).toThrow(/BATON_TEST_WATCH_CACHE=false: expected on or off/);
  });
});

describe('the datastore command lines', () => {
  it('kine keeps SQLite in the data folder, listens on loopback only and serves no metrics', () => {
    const args = datastoreArgs('kine', '/tmp/x/kine-data', 20_001, 20_002);
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--endpoint')).toMatch(/^sqlite:\/\/\/tmp\/x\/kine-data\/state\.db\?/);
    expect(flag('--listen-address')).toBe('127.0.0.1:20001');
    // kine's default is :8080 on every interface.
    expect(flag('--metrics-bind-address')).toBe('0');
  });
  it('etcd listens on loopback only', () => {
    const args = datastoreArgs('etcd', '/tmp/x/etcd-data', 20_001, 20_002);
    expect(args.filter((a) => a.startsWith('http://')).every((u) => u.startsWith('http://127.0.0.1:'))).toBe(true);
  });
  it("turns kube-apiserver's watch cache off only when asked", () => {
    expect(apiserverStorageArgs({ kind: 'kine', watchCache: true }, 20_001)).toEqual(['--etcd-servers=http://127.0.0.1:20001', '--storage-backend=etcd3']);
    expect(apiserverStorageArgs({ kind: 'kine', watchCache: false }, 20_001)).toContain('--watch-cache=false');
    expect(describeDatastore({ kind: 'kine', watchCache: false })).toBe('kine (SQLite), watch cache off');
  });
});
