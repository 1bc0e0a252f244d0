// The real node's certificates, made with openssl: one CA; the API server's serving certificate (loopback,
// the bridge gateway, the `kubernetes` Service IP); client certificates for the admin, the kubelet (the Node
// authorizer's system:node:<name> in system:nodes), the controller-manager, the scheduler and the API
// server's kubelet client (`kubectl logs`); the kubelet's serving certificate on the bridge address; and the
// ServiceAccount signing key. ECDSA P-256: quick to make on a busy 2-core machine.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function key(name: string, dir: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
}

/** A certificate signed by the CA: `subj` like /CN=x/O=y, `ext` the x509v3 extension lines. */
function signed(name: string, subj: string, ext: string[], dir: string): void {
  key(name, dir);
  writeFileSync(join(dir, `${name}.ext`), `${['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', ...ext].join('\n')}\n`);
  openssl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', subj], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '7', '-extfile', `${name}.ext`], dir);
}

export interface PkiOptions {
  gateway: string;
  serviceIp: string;
  nodeName: string;
}

export function makeNodePki(dir: string, o: PkiOptions): void {
  key('ca', dir);
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.crt', '-days', '7', '-subj', '/CN=baton-node-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'], dir);
  const client = 'extendedKeyUsage=clientAuth';
  signed('apiserver', '/CN=kube-apiserver', ['extendedKeyUsage=serverAuth', `subjectAltName=IP:127.0.0.1,IP:${o.gateway},IP:${o.serviceIp},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local`], dir);
  signed('admin', '/O=system:masters/CN=baton-node-admin', [client], dir);
  signed('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', [client], dir);
  signed('kubelet-client', `/O=system:nodes/CN=system:node:${o.nodeName}`, [client], dir);
  signed('kubelet-serving', `/CN=system:node:${o.nodeName}`, ['extendedKeyUsage=serverAuth', `subjectAltName=IP:${o.gateway},DNS:${o.nodeName}`], dir);
  signed('controller-manager', '/CN=system:kube-controller-manager', [client], dir);
  signed('scheduler', '/CN=system:kube-scheduler', [client], dir);
  key('sa', dir);
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

/** A kubeconfig that authenticates with a client certificate of this PKI. */
export function certKubeconfig(server: string, pkiDir: string, user: string, namespace = 'default'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: baton-node',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${join(pkiDir, 'ca.crt')}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate: ${join(pkiDir, `${user}.crt`)}`,
    `    client-key: ${join(pkiDir, `${user}.key`)}`,
    'contexts:',
    '- name: baton-node',
    '  context:',
    '    cluster: baton-node',
    `    user: ${user}`,
    `    namespace: ${namespace}`,
    'current-context: baton-node',
    '',
  ].join('\n');
}
