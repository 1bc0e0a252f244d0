import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
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
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
