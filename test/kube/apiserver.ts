// A real Kubernetes API server on loopback: etcd (or kine on SQLite, test/kube/datastore.ts) + kube-apiserver
// built from their Go modules,
// TLS from a generated CA, RBAC on, an admin token, and ServiceAccount tokens through the
// TokenRequest API. No controller-manager and no kubelet run: tests play those parts themselves.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ensureKine, ensureKubeBinaries, type KubeBinaries } from './binaries.ts';
import { apiserverStorageArgs, datastoreArgs, datastoreFromEnv, describeDatastore, type Datastore } from './datastore.ts';
import { kubeconfig } from './kubeconfig.ts';
import { Pki } from './pki.ts';
import { freePort } from './ports.ts';
import { sleep } from '../harness/wait.ts';

/** What a test needs to reach the API server; serialisable, so vitest's globalSetup can `provide` it. */
export interface KubeEndpoint {
  server: string;
  caFile: string;
  caData: string;
  adminToken: string;
  adminKubeconfig: string;
  dir: string;
  /** The backend the cluster is kept in, e.g. `kine (SQLite), watch cache off`. */
  datastore: string;
}

export interface ApiServerOptions {
  /** Extra flags for kube-apiserver. */
  apiserverArgs?: string[];
  /** The datastore and watch cache; default from `BATON_TEST_DATASTORE`/`BATON_TEST_WATCH_CACHE` (etcd, on). */
  datastore?: Datastore;
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

/**
 * One datastore (etcd or kine) + kube-apiserver pair. `stopApiServer`/`startApiServer` and
 * `stopDatastore`/`startDatastore` let fault tests take either away and bring it back.
 */
export class TestApiServer {
  readonly dir: string;
  /** The backend this server keeps the cluster in. */
  readonly datastore: Datastore;
  private bins!: KubeBinaries;
  private kine?: string;
  private store?: ChildProcess;
  private apiserver?: ChildProcess;
  private storePort = 0;
  private storePeerPort = 0;
  private apiPort = 0;
  private adminToken = randomBytes(24).toString('hex');
  private readonly log: (line: string) => void;
  private readonly options: ApiServerOptions;

  constructor(options: ApiServerOptions = {}) {
    this.options = options;
    this.datastore = options.datastore ?? datastoreFromEnv();
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
      datastore: describeDatastore(this.datastore),
    };
  }

  /** The datastore's name in logs (`etcd.log` or `kine.log` in `dir`). */
  private get storeName(): string {
    return this.datastore.kind;
  }

  async start(): Promise<KubeEndpoint> {
    this.bins = await ensureKubeBinaries(this.log);
    if (this.datastore.kind === 'kine') this.kine = await ensureKine(this.log);
    makePki(this.dir);
    writeFileSync(join(this.dir, 'tokens.csv'), `${this.adminToken},admin,admin-uid,"system:masters"\n`);
    this.storePort = await freePort();
    this.storePeerPort = await freePort();
    this.apiPort = await freePort();
    try {
      await this.startDatastore();
      await this.startApiServer();
    } catch (err) {
      // Leave no datastore or API server behind a failed start (the logs in `dir` stay, for the error).
      await this.stopProcesses();
      throw err;
    }
    writeFileSync(this.endpoint.adminKubeconfig, kubeconfigYaml(this.endpoint.server, this.endpoint.caData, this.adminToken));
    return this.endpoint;
  }

  /**
   * Starts (or restarts) the datastore on the same port and data (a restart finds the cluster as it was, as
   * a k3s server's restart does). Resolves once it accepts connections; kube-apiserver reconnects by itself.
   */
  async startDatastore(): Promise<void> {
    if (this.store) throw new Error(`${this.storeName} is already running`);
    const dataDir = join(this.dir, `${this.storeName}-data`);
    // kine opens the SQLite file but makes no folder for it (etcd makes its own).
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const bin = this.datastore.kind === 'kine' ? this.kine! : this.bins.etcd;
    const store = this.spawnLogged(this.storeName, bin, datastoreArgs(this.datastore.kind, dataDir, this.storePort, this.storePeerPort));
    this.store = store;
    await this.waitUntil(this.storeName, store, async () => {
      // etcd answers /health once it has a leader; kine serves gRPC only, so a connection is its sign of life.
      if (this.datastore.kind === 'etcd') {
        const res = await fetch(`http://127.0.0.1:${this.storePort}/health`).catch(() => undefined);
        return res?.ok === true;
      }
      return accepts(this.storePort);
    });
  }

  /**
   * Stops the datastore only (kube-apiserver keeps running and its requests fail or hang until
   * `startDatastore`). SIGKILL by default: a crashed k3s server, not a tidy shutdown.
   */
  async stopDatastore(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.store;
    this.store = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  /**
   * Starts (or restarts) kube-apiserver on the same port, against the same datastore, and waits until
   * `serving` holds: by default `/readyz`; a fault test may wait for less (kube-apiserver serves some
   * requests before every readiness check passes, on kine seconds before).
   */
  async startApiServer(serving: () => Promise<boolean> = () => this.ready()): Promise<void> {
    if (this.apiserver) throw new Error('kube-apiserver is already running');
    const d = this.dir;
    this.apiserver = this.spawnLogged('kube-apiserver', this.bins.kubeApiserver, [
      ...apiserverStorageArgs(this.datastore, this.storePort),
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
    await this.waitUntil('kube-apiserver', this.apiserver, serving, 120_000);
  }

  /** Stops kube-apiserver only (the datastore keeps the data): clients see connection refused until `startApiServer`. */
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
    await this.stopProcesses();
    if (!process.env.BATON_KEEP_APISERVER_DIR) rmSync(this.dir, { recursive: true, force: true });
  }

  private async stopProcesses(): Promise<void> {
    // A frozen server cannot act on SIGTERM.
    this.apiserver?.kill('SIGCONT');
    await this.stopApiServer();
    const store = this.store;
    this.store = undefined;
    if (store) await stopChild(store);
  }

  /** GET /readyz with the admin token; true on 200. */
  async ready(): Promise<boolean> {
    return (await this.adminRequest('GET', '/readyz')) === 200;
  }

  /**
   * One request with the admin token, given up after `timeoutMs` (a datastore that is gone makes
   * kube-apiserver hold requests open). Resolves the status code, or undefined on an error or a timeout.
   */
  adminRequest(method: string, path: string, body?: unknown, timeoutMs = 2000): Promise<number | undefined> {
    return new Promise((resolve) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = { authorization: `Bearer ${this.adminToken}` };
      if (payload !== undefined) headers['content-type'] = 'application/json';
      const req = request(
        `https://127.0.0.1:${this.apiPort}${path}`,
        { method, ca: readFileSync(join(this.dir, 'ca.crt')), headers, timeout: timeoutMs },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', () => resolve(undefined));
      req.on('timeout', () => req.destroy());
      req.end(payload);
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
      await sleep(200);
    }
    throw new Error(`${name} was not ready after ${timeoutMs} ms; see ${join(this.dir, `${name}.log`)}`);
  }
}

/** True when something accepts a TCP connection on `127.0.0.1:port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
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
