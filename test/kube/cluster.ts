// Helpers on top of the test API server: admin clients, a fresh namespace per test file, and
// ServiceAccounts with a given Role whose tokens come back as kubeconfigs (for RBAC tests).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { kubeconfigYaml, type KubeEndpoint } from './apiserver.ts';

export function adminKubeConfig(endpoint: KubeEndpoint): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(endpoint.adminKubeconfig);
  return kc;
}

/** Creates a namespace named `<prefix>-<random>` with a `default` ServiceAccount (no controller-manager makes one). */
export async function freshNamespace(endpoint: KubeEndpoint, prefix: string): Promise<string> {
  const kc = adminKubeConfig(endpoint);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const name = `${prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40)}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name } } });
  await core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: 'default' } } });
  return name;
}

/**
 * Creates ServiceAccount `name` in `namespace`, a Role with `rules` bound to it, asks the TokenRequest API
 * for a token, and writes a kubeconfig for it. Returns the kubeconfig's path.
 */
export async function serviceAccountKubeconfig(endpoint: KubeEndpoint, namespace: string, name: string, rules: k8s.V1PolicyRule[]): Promise<string> {
  const kc = adminKubeConfig(endpoint);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  const token = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 24 * 3600 } },
  });
  const path = join(endpoint.dir, `${namespace}-${name}.kubeconfig`);
  writeFileSync(path, kubeconfigYaml(endpoint.server, endpoint.caData, token.status!.token!, `system:serviceaccount:${namespace}:${name}`, namespace));
  return path;
}

/** The least privilege the sidecar needs, as the chart grants it (leases by name, events, its own pod). */
export function sidecarRules(leaseName: string): k8s.V1PolicyRule[] {
  return [
    // create cannot be restricted by resourceNames (the name is not known to the authorizer before the object exists).
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [leaseName], verbs: ['get', 'list', 'watch', 'update'] },
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch', 'patch'] },
  ];
}
