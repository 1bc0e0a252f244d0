// A real Kubernetes API server on loopback: etcd + kube-apiserver built from their Go modules,
// TLS from a generated CA, RBAC on, an admin token, and ServiceAccount tokens through the
// TokenRequest API. No controller-manager and no kubelet run: tests play those parts themselves.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ensureKubeBinaries, type KubeBinaries } from './binaries.ts';
import { kubeconfig } from './kubeconfig.ts';
import { Pki } from './pki.ts';
import { freePort } from './ports.ts';

/** What a test needs to reach the API server; serialisable, so vitest's globalSetup can `provide` it. */
export interface KubeEndpoint {
  server: string;
  caFile: string;
  caData: string;
  adminToken: string;
  adminKubeconfig: string;
  dir: string;
}

export interface ApiServerOptions {
  /** Extra flags for kube-apiserver. */
  apiserverArgs?: string[];
  log?: (line: string) => void;
}

/** A CA, a serving certificate for loopback and the `kubernetes` Service, and the ServiceAccount token signing key. */
function makePki(dir: string): void {
  const pki = new Pki(dir, { caSubject: '/CN=baton-test-ca', days: 2, algorithm: 'rsa' });
  pki.apiServer('server', ['10.0.0.1']); // the first address of --service-cluster-ip-range
  pki.serviceAccountKey();
}

export function kubeconfigYaml(server: string, caData: string, token: string, user = 'admin', namespace = 'default'): string {
  return kubeconfig({ server, name: 'test', ca: { data: caData }, user, auth: { token }, namespace });
}

/** One etcd + kube-apiserver pair. `stopApiServer`/`startApiServer` let fault tests take the API away and bring it back. */
export class TestApiServer {
  readonly dir: string;
  private bins!: KubeBinaries;
  private etcd?: ChildProcess;
  private apiserver?: ChildProcess;
  private etcdPort = 0;
  private apiPort = 0;
  private adminToken = randomBytes(24).toString('hex');
  private readonly log: (line: string) => void;
  private readonly options: ApiServerOptions;

  constructor(options: ApiServerOptions = {}) {
    this.options = options;
    this.dir = mkdtempSync(join(tmpdir(), 'baton-apiserver-'));
    this.log = options.log ?? ((l) => console.error(l));
  }

  get endpoint(): KubeEndpoint {
    const caData = readFileSync(join(this.dir, 'ca.crt')).toString('base64');
    return {
      server: `https://127.0.0.1:${this.apiPort}`,
      caFile: join(this.dir, 'ca.crt'),
      caData,
      adminToken: this.adminToken,
      adminKubeconfig: join(this.dir, 'admin.kubeconfig'),
      dir: this.dir,
    };
  }

  async start(): Promise<KubeEndpoint> {
    this.bins = await ensureKubeBinaries(this.log);
    makePki(this.dir);
    writeFileSync(join(this.dir, 'tokens.csv'), `${this.adminToken},admin,admin-uid,"system:masters"\n`);
    this.etcdPort = await freePort();
    this.apiPort = await freePort();
    await this.startEtcd();
    await this.startApiServer();
    writeFileSync(this.endpoint.adminKubeconfig, kubeconfigYaml(this.endpoint.server, this.endpoint.caData, this.adminToken));
    return this.endpoint;
  }

  private async startEtcd(): Promise<void> {
    const peerPort = await freePort();
    const url = `http://127.0.0.1:${this.etcdPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    this.etcd = this.spawnLogged('etcd', this.bins.etcd, [
      '--data-dir', join(this.dir, 'etcd-data'),
      '--listen-client-urls', url,
      '--advertise-client-urls', url,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `default=${peer}`,
      '--unsafe-no-fsync',
      '--log-level', 'warn',
    ]);
    await this.waitUntil('etcd', this.etcd, async () => {
      const res = await fetch(`${url}/health`).catch(() => undefined);
      return res?.ok === true;
    });
  }

  /** Starts (or restarts) kube-apiserver on the same port, against the same etcd. */
  async startApiServer(): Promise<void> {
    if (this.apiserver) throw new Error('kube-apiserver is already running');
    const d = this.dir;
    this.apiserver = this.spawnLogged('kube-apiserver', this.bins.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${this.etcdPort}`,
      `--secure-port=${this.apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--cert-dir=${join(d, 'certs')}`,
      `--tls-cert-file=${join(d, 'server.crt')}`,
      `--tls-private-key-file=${join(d, 'server.key')}`,
      `--client-ca-file=${join(d, 'ca.crt')}`,
      `--token-auth-file=${join(d, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${join(d, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(d, 'sa.key')}`,
      '--api-audiences=https://kubernetes.default.svc',
      '--service-cluster-ip-range=10.0.0.0/24',
      // On loopback with no Endpoints controller, the reconciler only logs an error every 10 s.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      '--v=0',
      ...(this.options.apiserverArgs ?? []),
    ]);
    await this.waitUntil('kube-apiserver', this.apiserver, () => this.ready(), 120_000);
  }

  /** Stops kube-apiserver only (etcd keeps the data): clients see connection refused until `startApiServer`. */
  async stopApiServer(): Promise<void> {
    const child = this.apiserver;
    this.apiserver = undefined;
    if (child) await stopChild(child);
  }

  /** Sends a signal to kube-apiserver (SIGSTOP/SIGCONT freeze and thaw it for fault scenarios). */
  signalApiServer(signal: NodeJS.Signals): void {
    if (!this.apiserver?.pid) throw new Error('kube-apiserver is not running');
    this.apiserver.kill(signal);
  }

  async stop(): Promise<void> {
    // A frozen server cannot act on SIGTERM.
    this.apiserver?.kill('SIGCONT');
    await this.stopApiServer();
    const etcd = this.etcd;
    this.etcd = undefined;
    if (etcd) await stopChild(etcd);
    if (!process.env.BATON_KEEP_APISERVER_DIR) rmSync(this.dir, { recursive: true, force: true });
  }

  /** GET /readyz with the admin token; true on 200. */
  ready(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request(
        `https://127.0.0.1:${this.apiPort}/readyz`,
        { ca: readFileSync(join(this.dir, 'ca.crt')), headers: { authorization: `Bearer ${this.adminToken}` }, timeout: 2000 },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  private spawnLogged(name: string, bin: string, args: string[]): ChildProcess {
    const out = createWriteStream(join(this.dir, `${name}.log`), { flags: 'a' });
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    return child;
  }

  private async waitUntil(name: string, child: ChildProcess, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}); see ${join(this.dir, `${name}.log`)}`);
      }
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${name} was not ready after ${timeoutMs} ms; see ${join(this.dir, `${name}.log`)}`);
  }
}

/** SIGTERM, then SIGKILL after a grace period; only ever a process this module started. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
