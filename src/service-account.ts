// The ServiceAccount volume a Pod gets: where it is mounted, and the namespace it names. Read by the config
// (BATON_NAMESPACE's default) and by the in-cluster connection (src/kube/connection.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The ServiceAccount volume every Pod gets unless `automountServiceAccountToken: false`. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The namespace of the mounted ServiceAccount (`BATON_NAMESPACE`'s default), or undefined outside a cluster. */
export function inClusterNamespace(dir: string = SERVICE_ACCOUNT_DIR): string | undefined {
  try {
    const ns = readFileSync(join(dir, 'namespace'), 'utf8').trim();
    return ns === '' ? undefined : ns;
  } catch {
    return undefined;
  }
}
