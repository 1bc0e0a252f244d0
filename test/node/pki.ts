// The real node's certificates (made by test/kube/pki.ts): one CA; the API server's serving certificate
// (loopback, the bridge gateway, the `kubernetes` Service IP); client certificates for the admin, the kubelet
// (the Node authorizer's system:node:<name> in system:nodes), the controller-manager, the scheduler and the API
// server's kubelet client (`kubectl logs`); the kubelet's serving certificate on the bridge address; and the
// ServiceAccount signing key. ECDSA P-256: quick to make on a busy 2-core machine.
import { join } from 'node:path';
import { kubeconfig } from '../kube/kubeconfig.ts';
import { Pki } from '../kube/pki.ts';

export interface PkiOptions {
  gateway: string;
  serviceIp: string;
  nodeName: string;
}

export function makeNodePki(dir: string, o: PkiOptions): void {
  const pki = new Pki(dir, { caSubject: '/CN=baton-node-ca', days: 7, algorithm: 'ec' });
  pki.apiServer('apiserver', [o.gateway, o.serviceIp]);
  pki.client('admin', '/O=system:masters/CN=baton-node-admin');
  pki.client('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client');
  pki.client('kubelet-client', `/O=system:nodes/CN=system:node:${o.nodeName}`);
  pki.serving('kubelet-serving', `/CN=system:node:${o.nodeName}`, [`IP:${o.gateway}`, `DNS:${o.nodeName}`]);
  pki.client('controller-manager', '/CN=system:kube-controller-manager');
  pki.client('scheduler', '/CN=system:kube-scheduler');
  pki.serviceAccountKey();
}

/** A kubeconfig that authenticates with a client certificate of this PKI. */
export function certKubeconfig(server: string, pkiDir: string, user: string, namespace = 'default'): string {
  const auth = { certFile: join(pkiDir, `${user}.crt`), keyFile: join(pkiDir, `${user}.key`) };
  return kubeconfig({ server, name: 'baton-node', ca: { file: join(pkiDir, 'ca.crt') }, user, auth, namespace });
}
