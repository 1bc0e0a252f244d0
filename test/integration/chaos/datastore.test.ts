// Fault suite: the datastore killed for longer than the renew deadline and restarted on its data (a k3s
// server restart: kine and its SQLite file), with three pods (S1, S2). A private API server and datastore:
// killing the shared one would disturb the other test files. Runs on etcd in the `integration` project and on
// kine in the `kine-*` projects (test/kube/datastore.ts). See e2e/chaos/scenarios.ts.
import { afterAll, beforeAll, it } from 'vitest';
import { TestApiServer, type KubeEndpoint } from '../../kube/apiserver.ts';
import { chaosContext, expectScenario } from './suite.ts';

const server = new TestApiServer({ log: () => undefined });
let endpoint: KubeEndpoint;

beforeAll(async () => {
  endpoint = await server.start();
});
afterAll(async () => {
  await server.stop();
});

it('datastore-stopped', () => expectScenario('datastore-stopped', chaosContext(endpoint, server)), 150_000);
