// Fault suite: the API server frozen (SIGSTOP) with three pods (S1, S2). A private API server: freezing
// the shared one would disturb the other test files. See e2e/chaos/scenarios.ts.
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

it('api-freeze', () => expectScenario('api-freeze', chaosContext(endpoint, server)), 150_000);
