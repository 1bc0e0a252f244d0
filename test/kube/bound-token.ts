// ServiceAccount tokens bound to a Pod, as the kubelet mints them for a projected token volume: a
// TokenRequest with boundObjectRef naming the Pod. Only such a token carries the Pod's name in the
// user's extra fields (authentication.kubernetes.io/pod-name), which baton's admission policy matches.
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { kubeconfigYaml, type KubeEndpoint } from './apiserver.ts';

/** The audience the test API server accepts (its --api-audiences). */
const AUDIENCE = 'https://kubernetes.default.svc';

/** A token of ServiceAccount `serviceAccount` bound to `pod` (the Pod must run as that ServiceAccount); unbound when `pod` is undefined. */
export async function serviceAccountToken(kc: k8s.KubeConfig, namespace: string, serviceAccount: string, pod?: { name: string; uid: string }): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const res = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: {
      spec: {
        audiences: [AUDIENCE],
        expirationSeconds: 3600,
        ...(pod ? { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid } } : {}),
      },
    },
  });
  const token = res.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  return token;
}

/** How the kubelet leaves a projected token file: its owner and mode (see charts/baton, baton.volumes). */
export interface TokenFileLayout {
  uid: number;
  gid: number;
  mode: number;
}

/**
 * Writes `token` to `<dir>/<name>/token` with the given owner and mode, and a kubeconfig that reads it
 * (`tokenFile`, as in-cluster reads the mounted file). Returns both paths.
 */
export function tokenFileKubeconfig(
  endpoint: KubeEndpoint,
  dir: string,
  name: string,
  namespace: string,
  token: string,
  layout: TokenFileLayout,
): { kubeconfig: string; tokenFile: string } {
  const podDir = join(dir, name);
  mkdirSync(podDir, { recursive: true });
  chmodSync(podDir, 0o755);
  const tokenFile = join(podDir, 'token');
  writeFileSync(tokenFile, token);
  chownSync(tokenFile, layout.uid, layout.gid);
  chmodSync(tokenFile, layout.mode);
  const kubeconfig = join(podDir, 'kubeconfig');
  const text = kubeconfigYaml(endpoint.server, endpoint.caData, 'TOKEN', `sa-${name}`, namespace).replace('    token: TOKEN', `    tokenFile: ${tokenFile}`);
  writeFileSync(kubeconfig, text);
  chmodSync(kubeconfig, 0o644);
  return { kubeconfig, tokenFile };
}

/** A kubeconfig with `token` inline, for requests the test makes itself. */
export function tokenKubeConfig(endpoint: KubeEndpoint, token: string, namespace: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfigYaml(endpoint.server, endpoint.caData, token, 'sa', namespace));
  return kc;
}
