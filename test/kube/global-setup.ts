// vitest globalSetup: one real API server for the whole run of a project, shared with its integration test
// files. The project's `env` picks the datastore (test/kube/datastore.ts): etcd for `integration`, kine for
// the `kine-*` projects, each project with its own server (the teardown is a closure, not module state).
import type { TestProject } from 'vitest/node';
import { TestApiServer, type KubeEndpoint } from './apiserver.ts';
import { datastoreFromEnv } from './datastore.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kube: KubeEndpoint;
  }
}

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A project's `env` reaches its test workers, not this process: read it from the project's config.
  const server = new TestApiServer({ datastore: datastoreFromEnv({ ...process.env, ...project.config.env }) });
  const started = Date.now();
  const endpoint = await server.start();
  console.error(
    `baton tests (${project.name}): kube-apiserver on ${endpoint.datastore} ready at ${endpoint.server} in ${Date.now() - started} ms (logs in ${endpoint.dir})`,
  );
  project.provide('kube', endpoint);
  return () => server.stop();
}
