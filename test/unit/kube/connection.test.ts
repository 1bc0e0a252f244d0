// Loading the connection without client-node: kubeconfig fields, in-cluster files, token rotation.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestOptions } from 'node:https';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileTokenSource, loadConnection, TOKEN_REREAD_MS, type KubeConnection } from '../../../src/kube/connection.ts';
import { inClusterNamespace } from '../../../src/service-account.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-kubeconfig-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function kubeconfig(cluster: string[], user: string[], extra: { context?: string; namespace?: string } = {}): string {
  const path = join(dir, 'config');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      `current-context: ${extra.context ?? 'ctx'}`,
      'clusters:',
      '- name: c1',
      '  cluster:',
      ...cluster.map((l) => `    ${l}`),
      'users:',
      '- name: u1',
      '  user:',
      ...(user.length ? user.map((l) => `    ${l}`) : ['    {}']),
      'contexts:',
      '- name: ctx',
      '  context:',
      '    cluster: c1',
      '    user: u1',
      ...(extra.namespace ? [`    namespace: ${extra.namespace}`] : []),
      '',
    ].join('\n'),
  );
  return path;
}

async function headers(conn: KubeConnection): Promise<Record<string, unknown>> {
  const opts: RequestOptions = {};
  await conn.authenticate(opts);
  return (opts.headers ?? {}) as Record<string, unknown>;
}

describe('kubeconfig', () => {
  it('reads server, CA data, a token and the namespace of the current context', async () => {
    const path = kubeconfig(['server: https://10.1.2.3:6443/', `certificate-authority-data: ${b64('CA-PEM')}`], ['token: abc123'], { namespace: 'team-a' });
    const conn = await loadConnection({ env: { KUBECONFIG: path } });
    expect(conn.server).toBe('https://10.1.2.3:6443');
    expect(conn.namespace).toBe('team-a');
    expect(conn.tls.ca?.toString()).toBe('CA-PEM');
    expect(conn.tls.rejectUnauthorized).toBe(true);
    expect(conn.source).toContain('context ctx');
    expect(await headers(conn)).toEqual({ authorization: 'Bearer abc123' });
  });

  it('uses the first existing file of a KUBECONFIG path list', async () => {
    const path = kubeconfig(['server: https://h:1'], ['token: t']);
    const conn = await loadConnection({ env: { KUBECONFIG: `${join(dir, 'missing')}:${path}` } });
    expect(conn.server).toBe('https://h:1');
  });

  it('reads client certificate and key from data and from files relative to the kubeconfig', async () => {
    const fromData = await loadConnection({
      env: { KUBECONFIG: kubeconfig(['server: https://h:1'], [`client-certificate-data: ${b64('CERT')}`, `client-key-data: ${b64('KEY')}`]) },
    });
    expect(fromData.tls.cert?.toString()).toBe('CERT');
    expect(fromData.tls.key?.toString()).toBe('KEY');
    expect(await headers(fromData)).toEqual({});

    writeFileSync(join(dir, 'client.crt'), 'CERT-FILE');
    writeFileSync(join(dir, 'client.key'), 'KEY-FILE');
    writeFileSync(join(dir, 'ca.crt'), 'CA-FILE');
    const fromFiles = await loadConnection({
      env: {
        KUBECONFIG: kubeconfig(
          ['server: https://h:1', 'certificate-authority: ca.crt'],
          ['client-certificate: client.crt', `client-key: ${join(dir, 'client.key')}`],
        ),
      },
    });
    expect(fromFiles.tls.cert?.toString()).toBe('CERT-FILE');
    expect(fromFiles.tls.key?.toString()).toBe('KEY-FILE');
    expect(fromFiles.tls.ca?.toString()).toBe('CA-FILE');
  });

  it('honours insecure-skip-tls-verify and tls-server-name', async () => {
    const conn = await loadConnection({
      env: { KUBECONFIG: kubeconfig(['server: https://h:1', 'insecure-skip-tls-verify: true', 'tls-server-name: api.internal'], ['token: t']) },
    });
    expect(conn.tls.rejectUnauthorized).toBe(false);
    expect(conn.tls.servername).toBe('api.internal');
  });

  it('sends basic auth for username/password', async () => {
    const conn = await loadConnection({ env: { KUBECONFIG: kubeconfig(['server: https://h:1'], ['username: alice', 'password: s3cret']) } });
    expect(await headers(conn)).toEqual({ authorization: `Basic ${b64('alice:s3cret')}` });
  });

  it('re-reads a tokenFile once the cached token is older than a minute', async () => {
    writeFileSync(join(dir, 'token'), 'first\n');
    let now = 1_000;
    const conn = await loadConnection({ env: { KUBECONFIG: kubeconfig(['server: https://h:1'], ['tokenFile: token']) }, now: () => now });
    expect(await headers(conn)).toEqual({ authorization: 'Bearer first' });
    writeFileSync(join(dir, 'token'), 'second\n');
    now += TOKEN_REREAD_MS - 1;
    expect(await headers(conn)).toEqual({ authorization: 'Bearer first' });
    now += 1;
    expect(await headers(conn)).toEqual({ authorization: 'Bearer second' });
  });

  it('runs exec credential plugins through lazily imported client-node', async () => {
    const script = join(dir, 'cred.mjs');
    writeFileSync(
      script,
      `console.log(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'exec-token' } }))`,
    );
    const path = kubeconfig(
      ['server: https://h:1', `certificate-authority-data: ${b64('CA-PEM')}`],
      [
        'exec:',
        '  apiVersion: client.authentication.k8s.io/v1',
        `  command: ${JSON.stringify(process.execPath)}`,
        `  args: [${JSON.stringify(script)}]`,
        '  interactiveMode: Never',
      ],
    );
    const conn = await loadConnection({ env: { KUBECONFIG: path } });
    expect(conn.source).toContain('credentials plugin');
    expect(conn.tls.ca?.toString()).toBe('CA-PEM');
    expect(await headers(conn)).toMatchObject({ authorization: 'Bearer exec-token' });
  });

  it('names the fix when the current context is missing or unset', async () => {
    const missing = kubeconfig(['server: https://h:1'], ['token: t'], { context: 'nope' });
    await expect(loadConnection({ env: { KUBECONFIG: missing } })).rejects.toThrow(/context "nope" is not defined \(known: ctx\).*kubectl config use-context/);
    const unset = kubeconfig(['server: https://h:1'], ['token: t'], { context: '""' });
    await expect(loadConnection({ env: { KUBECONFIG: unset } })).rejects.toThrow(/current-context is not set/);
  });

  it('names the fix when KUBECONFIG points nowhere or the server is missing', async () => {
    await expect(loadConnection({ env: { KUBECONFIG: join(dir, 'nothing') } })).rejects.toThrow(/KUBECONFIG names no existing file/);
    await expect(loadConnection({ env: { KUBECONFIG: kubeconfig([`certificate-authority-data: ${b64('x')}`], ['token: t']) } })).rejects.toThrow(
      /cluster "c1" has no server: add `server:/,
    );
  });
});

describe('in-cluster', () => {
  it('uses KUBERNETES_SERVICE_HOST/PORT, the token, the CA and the namespace file', async () => {
    const sa = join(dir, 'sa');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'sa-token-1');
    writeFileSync(join(sa, 'ca.crt'), 'CLUSTER-CA');
    writeFileSync(join(sa, 'namespace'), 'prod\n');
    let now = 0;
    const conn = await loadConnection({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa, now: () => now });
    expect(conn.server).toBe('https://10.0.0.1:443');
    expect(conn.namespace).toBe('prod');
    expect(conn.source).toBe('in-cluster');
    expect(conn.tls.ca?.toString()).toBe('CLUSTER-CA');
    expect(await headers(conn)).toEqual({ authorization: 'Bearer sa-token-1' });
    // The kubelet rotates bound tokens: the new one is used within a minute.
    writeFileSync(join(sa, 'token'), 'sa-token-2');
    now = TOKEN_REREAD_MS;
    expect(await headers(conn)).toEqual({ authorization: 'Bearer sa-token-2' });
    expect(inClusterNamespace(sa)).toBe('prod');
  });

  it('brackets an IPv6 service host', async () => {
    const sa = join(dir, 'sa6');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 't');
    writeFileSync(join(sa, 'ca.crt'), 'CA');
    const conn = await loadConnection({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa });
    expect(conn.server).toBe('https://[fd00::1]:443');
    expect(conn.namespace).toBeUndefined();
  });

  it('says how to fix a missing cluster or token', async () => {
    await expect(loadConnection({ env: {} })).rejects.toThrow(
      'not in a cluster (KUBERNETES_SERVICE_HOST is unset) and KUBECONFIG is not set: set KUBECONFIG to a kubeconfig file',
    );
    await expect(
      loadConnection({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: join(dir, 'none') }),
    ).rejects.toThrow(/cannot read the ServiceAccount token .*automountServiceAccountToken/);
    expect(inClusterNamespace(join(dir, 'none'))).toBeUndefined();
  });

  it('keeps the last good token when a re-read fails', () => {
    const path = join(dir, 'tok');
    writeFileSync(path, 'good');
    let now = 0;
    const source = new FileTokenSource(path, () => now);
    expect(source.token()).toBe('good');
    rmSync(path);
    now = TOKEN_REREAD_MS * 2;
    expect(source.token()).toBe('good');
  });
});
