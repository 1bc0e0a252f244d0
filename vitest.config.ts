import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/**
 * The integration files that also run on k3s's default datastore, kine on SQLite (issue 22): the Lease,
 * watch reconnects, handoffs, Lease edits and the datastore stopped (a k3s server restart). Each runs twice
 * more, with kube-apiserver's watch cache on and off (test/kube/datastore.ts). The frozen API server
 * (chaos/apiserver) is left to etcd: it freezes kube-apiserver, not the datastore, and costs a minute a run.
 */
const ON_KINE = ['kube/lease', 'kube/watch-reconnects', 'sidecar/handoff', 'chaos/lease-edits', 'chaos/datastore'].map((f) => `test/integration/${f}.test.ts`);

function kineProject(name: string, watchCache: 'on' | 'off', groupOrder: number): TestProjectInlineConfiguration {
  return {
    test: {
      name,
      include: ON_KINE,
      globalSetup: ['test/kube/global-setup.ts'],
      env: { BATON_TEST_DATASTORE: 'kine', BATON_TEST_WATCH_CACHE: watchCache },
      testTimeout: 120_000,
      hookTimeout: 180_000,
      maxWorkers: 2,
      sequence: { groupOrder },
    },
  };
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // The sidecar's unit tests, and the worker kit's own (its tests live beside it).
          include: ['test/unit/**/*.test.ts', 'packages/baton-worker/test/**/*.test.ts'],
          // Unit tests first; then the integration project, which may run fewer files at once.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/kube/global-setup.ts'],
          // Real processes and a real API server on 2 cores: generous timeouts, few files at once.
          testTimeout: 120_000,
          hookTimeout: 180_000,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      kineProject('kine-watch-cache', 'on', 2),
      kineProject('kine-no-watch-cache', 'off', 3),
      {
        test: {
          // A real one-node cluster (test/node): root, containerd, the kubelet; it changes the host, so only
          // `npm run test:node` runs it (`npm test` names the other two projects). One file at a time; a cold
          // run builds the node's binaries and images first (beforeAll).
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          testTimeout: 30 * 60_000,
          hookTimeout: 60 * 60_000,
          maxWorkers: 1,
          sequence: { groupOrder: 4 },
        },
      },
    ],
  },
});
