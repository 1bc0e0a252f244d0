// vitest globalSetup: one real API server for the whole run, shared with every integration test file.
import type { TestProject } from 'vitest/node';
import { TestApiServer, type KubeEndpoint } from './apiserver.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kube: KubeEndpoint;
  }
}

let server: TestApiServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = new TestApiServer();
  const started = Date.now();
  const endpoint = await server.start();
  console.error(`baton tests: kube-apiserver ready at ${endpoint.server} in ${Date.now() - started} ms (logs in ${endpoint.dir})`);
  project.provide('kube', endpoint);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
