// A kubeconfig with one cluster, one user and one context: what the test clusters hand to kubectl, helm,
// the sidecar and the controllers.

export interface KubeconfigSpec {
  server: string;
  /** The name of the cluster and of the context. */
  name: string;
  /** The CA that signed the server's certificate: inline (base64 PEM) or a file. */
  ca: { data: string } | { file: string };
  user: string;
  /** A bearer token, or a client certificate and its key (files). */
  auth: { token: string } | { certFile: string; keyFile: string };
  namespace?: string;
}

export function kubeconfig(s: KubeconfigSpec): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${s.name}`,
    '  cluster:',
    `    server: ${s.server}`,
    'data' in s.ca ? `    certificate-authority-data: ${s.ca.data}` : `    certificate-authority: ${s.ca.file}`,
    'users:',
    `- name: ${s.user}`,
    '  user:',
    ...('token' in s.auth ? [`    token: ${s.auth.token}`] : [`    client-certificate: ${s.auth.certFile}`, `    client-key: ${s.auth.keyFile}`]),
    'contexts:',
    `- name: ${s.name}`,
    '  context:',
    `    cluster: ${s.name}`,
    `    user: ${s.user}`,
    `    namespace: ${s.namespace ?? 'default'}`,
    `current-context: ${s.name}`,
    '',
  ].join('\n');
}
