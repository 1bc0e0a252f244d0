// A real one-node Kubernetes cluster on this machine: etcd, kube-apiserver (RBAC + Node authorizer),
// kube-controller-manager (ServiceAccount token, Deployment, ReplicaSet, garbage collector…), kube-scheduler,
// containerd (its own root, state and socket; restrict_oom_score_adj, see REALNODE.md) and the kubelet, pods on a
// bridge network the node creates. The daemons run detached, so `npm run node:up` can return and
// `npm run node:down` (or the next `up`, after a killed run) can stop them by the pids in the state file.
//
// Network: the control plane listens on loopback and on the bridge's gateway address only; pods reach the
// API server through the `kubernetes` Service IP, which one DNAT rule (in a chain of the node's own) sends to
// the gateway address, the part kube-proxy would play. Pods get an empty resolv.conf: nothing leaves the host.
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureKubeBinaries, ensureNodeBinaries, type KubeBinaries, type NodeBinaries } from '../kube/binaries.ts';
import { freePort } from '../kube/ports.ts';
import { certKubeconfig, makeNodePki } from './pki.ts';
import {
  cgroupPids,
  linkExists,
  mountsUnder,
  removeBridge,
  removeCgroups,
  removeNewNetns,
  restoreIptables,
  restoreSysctls,
  run,
  snapshotHost,
  tryRun,
  unmountUnder,
  type HostSnapshot,
} from './host.ts';
import { ensureImages, ensurePauseImage, PAUSE_IMAGE } from './images.ts';
import { ensureHelm } from '../kube/helm.ts';
import { sleep, waitFor, type WaitOptions } from '../harness/wait.ts';

/** Where the node keeps everything (certificates, etcd, containerd's and the kubelet's roots, logs, state). */
export const NODE_DIR = process.env.BATON_NODE_DIR ?? '/var/lib/baton-node';
const RUN_DIR = '/run/baton-node';
export const NODE_NAME = 'baton-node';
export const BRIDGE = 'baton0';
/** The pod network and its gateway (the host's address on the bridge: pods reach host servers here). */
export const POD_CIDR = '10.87.0.0/24';
export const GATEWAY = '10.87.0.1';
const SERVICE_CIDR = '10.87.1.0/24';
/** The `kubernetes` Service's ClusterIP (the first address of SERVICE_CIDR). */
export const SERVICE_IP = '10.87.1.1';
export const API_PORT = 6443;
const KUBELET_PORT = 10250;
const CGROUP_ROOT = '/baton-node';
const NAT_CHAIN = 'BATON-NODE-SERVICES';
const CONTAINERD_SOCK = join(RUN_DIR, 'containerd.sock');

type Log = (line: string) => void;
const stderr: Log = (l) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} node: ${l}\n`);

interface Daemon {
  pid: number;
  bin: string;
}

interface NodeState {
  startedAt: string;
  /**
   * The process that uses the node (a test run, e2e:node) and takes it down when done; 0 once `node:up`
   * has returned (the node is the user's until `node:down`). A live owner's node is never cleaned away.
   */
  owner: number;
  snapshot: HostSnapshot;
  daemons: Record<string, Daemon>;
}

/** What a test or script needs to use the node. */
export interface NodeInfo {
  kubeconfig: string;
  server: string;
  kubectl: string;
  gateway: string;
  nodeName: string;
  containerdSock: string;
  logs: string;
}

const statePath = join(NODE_DIR, 'state.json');

function readState(): NodeState | undefined {
  try {
    return JSON.parse(readFileSync(statePath, 'utf8')) as NodeState;
  } catch {
    return undefined;
  }
}

function writeState(s: NodeState): void {
  writeFileSync(statePath, `${JSON.stringify(s, null, 2)}\n`);
}

function alive(d: Daemon): boolean {
  try {
    // The pid must still be our binary: never signal a recycled pid.
    return readFileSync(`/proc/${d.pid}/cmdline`, 'utf8').split('\0')[0] === d.bin;
  } catch {
    return false;
  }
}

/** How the node's start-up waits for a daemon: asked every 250 ms, and on a timeout the last lines of its log. */
function daemon(logFile: string): WaitOptions {
  return {
    everyMs: 250,
    detail: () => (existsSync(logFile) ? `\n--- last lines of ${logFile}:\n${readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n')}` : ''),
  };
}

function httpsOk(url: string, pki: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { ca: readFileSync(join(pki, 'ca.crt')), cert: readFileSync(join(pki, 'admin.crt')), key: readFileSync(join(pki, 'admin.key')), timeout: 3000 },
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

/** Checks that this host can run a node at all; throws naming what is missing. */
function checkHost(): void {
  if (process.getuid?.() !== 0) throw new Error('baton node: the real node needs root (containerd, the kubelet, a bridge, cgroups).');
  if (process.platform !== 'linux') throw new Error('baton node: the real node needs Linux.');
  for (const bin of ['containerd', 'containerd-shim-runc-v2', 'runc', 'ctr', 'buildah', 'iptables', 'ip', 'openssl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`baton node: ${bin} is missing; run scripts/prerequisites.sh node (installs it from Debian's packages)`);
    }
  }
  if (!existsSync('/usr/lib/cni/bridge')) throw new Error('baton node: the CNI plugins are missing (/usr/lib/cni/bridge); run scripts/prerequisites.sh node');
}

/** Installs what is missing (apt-get, as the tests do for promtool). */
export function installPrerequisites(log: Log = stderr): void {
  const script = join(import.meta.dirname, '..', '..', 'scripts', 'prerequisites.sh');
  log('checking containerd, runc, CNI plugins, buildah (installs from Debian when missing)');
  execFileSync('bash', [script, 'node'], { stdio: ['ignore', 'inherit', 'inherit'] });
}

export class RealNode {
  private readonly log: Log;
  private kube!: KubeBinaries;
  private bins!: NodeBinaries;
  private state!: NodeState;
  private readonly pki = join(NODE_DIR, 'pki');
  private readonly logs = join(NODE_DIR, 'logs');

  constructor(log: Log = stderr) {
    this.log = log;
  }

  get info(): NodeInfo {
    return {
      kubeconfig: join(NODE_DIR, 'admin.kubeconfig'),
      server: `https://${GATEWAY}:${API_PORT}`,
      kubectl: this.bins.kubectl,
      gateway: GATEWAY,
      nodeName: NODE_NAME,
      containerdSock: CONTAINERD_SOCK,
      logs: this.logs,
    };
  }

  /** Builds (once) and starts everything; cleans up first after a killed run. Returns how to reach the node. */
  async up(): Promise<NodeInfo> {
    const t0 = Date.now();
    installPrerequisites(this.log);
    checkHost();
    await this.waitForOtherOwner();
    if (readState() || existsSync(NODE_DIR) || linkExists(BRIDGE)) {
      this.log(`a previous node was not taken down (state in ${NODE_DIR}): cleaning it up first`);
      await down(this.log);
    }
    [this.kube, this.bins] = await Promise.all([ensureKubeBinaries(this.log), ensureNodeBinaries(this.log)]);
    const pause = await ensurePauseImage(this.log);
    const tBuilt = Date.now();
    for (const d of [NODE_DIR, this.pki, this.logs, RUN_DIR]) mkdirSync(d, { recursive: true });
    // The snapshot is on disk before the host is touched: a run killed from here on is undone by the next.
    this.state = { startedAt: new Date().toISOString(), owner: process.pid, snapshot: snapshotHost(), daemons: {} };
    writeState(this.state);
    try {
      this.bridge();
      makeNodePki(this.pki, { gateway: GATEWAY, serviceIp: SERVICE_IP, nodeName: NODE_NAME });
      for (const u of ['admin', 'controller-manager', 'scheduler', 'kubelet-client']) {
        writeFileSync(join(NODE_DIR, `${u}.kubeconfig`), certKubeconfig(`https://${GATEWAY}:${API_PORT}`, this.pki, u));
      }
      await this.etcdAndApiserver();
      this.serviceDnat();
      await this.containerd(pause);
      this.controllers();
      await this.kubelet();
      await this.ready();
    } catch (err) {
      this.log(`node failed to start: ${(err as Error).message.split('\n')[0]}; logs in ${this.logs}`);
      throw err;
    }
    this.log(
      `node ${NODE_NAME} Ready in ${((Date.now() - tBuilt) / 1000).toFixed(1)} s (${((Date.now() - t0) / 1000).toFixed(1)} s with build checks); KUBECONFIG=${this.info.kubeconfig}`,
    );
    return this.info;
  }

  /** Another live process (a test run elsewhere on this machine) owns the node: wait until it is done. */
  private async waitForOtherOwner(): Promise<void> {
    let warned = false;
    for (;;) {
      const s = readState();
      if (!s || !s.owner || s.owner === process.pid || !pidAlive(s.owner)) return;
      if (!warned) this.log(`the node is in use by process ${s.owner}; waiting for it to finish`);
      warned = true;
      await sleep(2000);
    }
  }

  /** Hands the node over to the user (`node:up`): the next `up` may replace it, only `down` must stop it. */
  detach(): void {
    this.state.owner = 0;
    writeState(this.state);
  }

  private spawnDaemon(name: string, bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
    const logFile = join(this.logs, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    child.unref();
    if (!child.pid) throw new Error(`node: ${name} did not start`);
    this.state.daemons[name] = { pid: child.pid, bin };
    writeState(this.state);
    return logFile;
  }

  private bridge(): void {
    run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    run('ip', ['addr', 'add', `${GATEWAY}/24`, 'dev', BRIDGE]);
    run('ip', ['link', 'set', BRIDGE, 'up']);
  }

  private async etcdAndApiserver(): Promise<void> {
    const [client, peer] = [await freePort(), await freePort()];
    const etcdLog = this.spawnDaemon('etcd', this.kube.etcd, [
      '--data-dir',
      join(NODE_DIR, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${client}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${client}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${peer}`,
      '--unsafe-no-fsync',
      '--log-level',
      'warn',
    ]);
    await waitFor('etcd health', async () => (await fetch(`http://127.0.0.1:${client}/health`).catch(() => undefined))?.ok === true, 60_000, daemon(etcdLog));
    const p = (f: string) => join(this.pki, f);
    const apiLog = this.spawnDaemon('kube-apiserver', this.bins.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${client}`,
      `--bind-address=${GATEWAY}`,
      `--advertise-address=${GATEWAY}`,
      `--secure-port=${API_PORT}`,
      `--cert-dir=${join(NODE_DIR, 'apiserver-certs')}`,
      `--tls-cert-file=${p('apiserver.crt')}`,
      `--tls-private-key-file=${p('apiserver.key')}`,
      `--client-ca-file=${p('ca.crt')}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      `--kubelet-client-certificate=${p('apiserver-kubelet-client.crt')}`,
      `--kubelet-client-key=${p('apiserver-kubelet-client.key')}`,
      `--kubelet-certificate-authority=${p('ca.crt')}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${p('sa.pub')}`,
      `--service-account-signing-key-file=${p('sa.key')}`,
      '--api-audiences=https://kubernetes.default.svc',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      '--v=0',
    ]);
    await waitFor('kube-apiserver /readyz', () => httpsOk(`https://${GATEWAY}:${API_PORT}/readyz`, this.pki), 180_000, daemon(apiLog));
  }

  /** Pods reach the API server at the `kubernetes` Service IP (in-cluster config): one DNAT rule to the gateway. */
  private serviceDnat(): void {
    run('iptables', ['-w', '-t', 'nat', '-N', NAT_CHAIN]);
    run('iptables', [
      '-w',
      '-t',
      'nat',
      '-A',
      NAT_CHAIN,
      '-d',
      `${SERVICE_IP}/32`,
      '-p',
      'tcp',
      '--dport',
      '443',
      '-j',
      'DNAT',
      '--to-destination',
      `${GATEWAY}:${API_PORT}`,
    ]);
    run('iptables', ['-w', '-t', 'nat', '-I', 'PREROUTING', '-i', BRIDGE, '-j', NAT_CHAIN]);
  }

  private async containerd(pauseArchive: string): Promise<void> {
    const root = join(NODE_DIR, 'containerd');
    const cniConf = join(NODE_DIR, 'cni', 'net.d');
    mkdirSync(cniConf, { recursive: true });
    writeFileSync(
      join(cniConf, '10-baton.conflist'),
      `${JSON.stringify(
        {
          cniVersion: '1.0.0',
          name: 'baton-node',
          plugins: [
            {
              type: 'bridge',
              bridge: BRIDGE,
              isGateway: true,
              ipMasq: false,
              hairpinMode: true,
              // One route, to the Service range (the `kubernetes` Service, DNATed on the host): pods reach the host on
              // the bridge and nothing beyond it.
              ipam: {
                type: 'host-local',
                ranges: [[{ subnet: POD_CIDR, gateway: GATEWAY }]],
                routes: [{ dst: SERVICE_CIDR, gw: GATEWAY }],
                dataDir: join(NODE_DIR, 'cni', 'ipam'),
              },
            },
          ],
        },
        null,
        2,
      )}\n`,
    );
    const config = join(NODE_DIR, 'containerd.toml');
    writeFileSync(
      config,
      [
        'version = 2',
        `root = "${root}"`,
        `state = "${join(RUN_DIR, 'containerd')}"`,
        'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
        '[grpc]',
        `  address = "${CONTAINERD_SOCK}"`,
        '[ttrpc]',
        `  address = "${CONTAINERD_SOCK}.ttrpc"`,
        '[plugins."io.containerd.grpc.v1.cri"]',
        `  sandbox_image = "${PAUSE_IMAGE}"`,
        '  # This VM has no CAP_SYS_RESOURCE: runc must not raise oom_score_adj (REALNODE.md).',
        '  restrict_oom_score_adj = true',
        '  stream_server_address = "127.0.0.1"',
        '  [plugins."io.containerd.grpc.v1.cri".cni]',
        '    bin_dir = "/usr/lib/cni"',
        `    conf_dir = "${cniConf}"`,
        '  [plugins."io.containerd.grpc.v1.cri".containerd]',
        '    snapshotter = "overlayfs"',
        '    default_runtime_name = "runc"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '      runtime_type = "io.containerd.runc.v2"',
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
        '        SystemdCgroup = false',
        '',
      ].join('\n'),
    );
    const logFile = this.spawnDaemon('containerd', run('sh', ['-c', 'command -v containerd']).trim(), ['--config', config]);
    await waitFor(
      'containerd socket',
      () => existsSync(CONTAINERD_SOCK) && tryRun('ctr', ['-a', CONTAINERD_SOCK, 'version']) !== undefined,
      30_000,
      daemon(logFile),
    );
    this.importImage(pauseArchive);
  }

  /** `ctr -n k8s.io images import` of an OCI archive into the node's containerd. */
  importImage(archive: string): void {
    run('ctr', ['-a', CONTAINERD_SOCK, '-n', 'k8s.io', 'images', 'import', '--all-platforms', archive]);
  }

  private controllers(): void {
    const p = (f: string) => join(this.pki, f);
    const kcm = join(NODE_DIR, 'controller-manager.kubeconfig');
    this.spawnDaemon('kube-controller-manager', this.bins.kubeControllerManager, [
      `--kubeconfig=${kcm}`,
      `--authentication-kubeconfig=${kcm}`,
      `--authorization-kubeconfig=${kcm}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--controllers=serviceaccount-token-controller,serviceaccount-controller,deployment-controller,replicaset-controller,garbage-collector-controller,namespace-controller,root-ca-certificate-publisher-controller,disruption-controller,pod-garbage-collector-controller,node-lifecycle-controller',
      // node-lifecycle removes the not-ready taint the kubelet registers the Node with.
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${p('sa.key')}`,
      `--root-ca-file=${p('ca.crt')}`,
      `--cluster-signing-cert-file=${p('ca.crt')}`,
      `--cluster-signing-key-file=${p('ca.key')}`,
      '--concurrent-deployment-syncs=2',
      '--concurrent-replicaset-syncs=2',
      '--v=1',
    ]);
    const sch = join(NODE_DIR, 'scheduler.kubeconfig');
    this.spawnDaemon('kube-scheduler', this.bins.kubeScheduler, [
      `--kubeconfig=${sch}`,
      `--authentication-kubeconfig=${sch}`,
      `--authorization-kubeconfig=${sch}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--v=1',
    ]);
  }

  private async kubelet(): Promise<void> {
    const root = join(NODE_DIR, 'kubelet');
    mkdirSync(root, { recursive: true });
    // The kubelet refuses a cgroup root that does not exist in every hierarchy.
    for (const h of readdirSync('/sys/fs/cgroup')) {
      const dir = join('/sys/fs/cgroup', h);
      if (existsSync(join(dir, 'cgroup.procs'))) mkdirSync(join(dir, CGROUP_ROOT), { recursive: true });
    }
    // No cluster DNS and no host resolver for pods: nothing in a pod can resolve (or reach) the outside.
    writeFileSync(join(NODE_DIR, 'resolv.conf'), '');
    const config = join(NODE_DIR, 'kubelet.yaml');
    writeFileSync(
      config,
      `${JSON.stringify(
        {
          apiVersion: 'kubelet.config.k8s.io/v1beta1',
          kind: 'KubeletConfiguration',
          address: GATEWAY,
          port: KUBELET_PORT,
          readOnlyPort: 0,
          healthzPort: 0,
          tlsCertFile: join(this.pki, 'kubelet-serving.crt'),
          tlsPrivateKeyFile: join(this.pki, 'kubelet-serving.key'),
          authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: join(this.pki, 'ca.crt') } },
          authorization: { mode: 'Webhook' },
          containerRuntimeEndpoint: `unix://${CONTAINERD_SOCK}`,
          cgroupDriver: 'cgroupfs',
          cgroupRoot: CGROUP_ROOT,
          // This host is cgroup v1 (hybrid); kubelet v1.37 refuses it unless told (REALNODE.md).
          failCgroupV1: false,
          failSwapOn: false,
          // Images exist only locally (no registry): never collect them.
          imageGCHighThresholdPercent: 100,
          imageGCLowThresholdPercent: 99,
          evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
          resolvConf: join(NODE_DIR, 'resolv.conf'),
          podLogsDir: join(NODE_DIR, 'pod-logs'),
          serializeImagePulls: false,
          syncFrequency: '10s',
          fileCheckFrequency: '10s',
          nodeStatusUpdateFrequency: '5s',
          maxPods: 30,
        },
        null,
        2,
      )}\n`,
    );
    const logFile = this.spawnDaemon('kubelet', this.bins.kubelet, [
      `--config=${config}`,
      `--kubeconfig=${join(NODE_DIR, 'kubelet-client.kubeconfig')}`,
      `--root-dir=${root}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${GATEWAY}`,
      '--v=1',
    ]);
    this.kubeletLog = logFile;
  }

  private kubeletLog = '';

  private kubectl(args: string[]): string | undefined {
    return tryRun(this.bins.kubectl, ['--kubeconfig', this.info.kubeconfig, ...args]);
  }

  private async ready(): Promise<void> {
    await waitFor(
      `Node ${NODE_NAME} Ready`,
      () => this.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])?.trim() === 'True',
      120_000,
      daemon(this.kubeletLog),
    );
    await waitFor(
      `Node ${NODE_NAME} untainted (node-lifecycle controller)`,
      () => this.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.spec.taints}'])?.trim() === '',
      120_000,
      daemon(join(this.logs, 'kube-controller-manager.log')),
    );
    await waitFor(
      'the default ServiceAccount (controller-manager)',
      () => this.kubectl(['get', 'serviceaccount', 'default', '-n', 'default', '-o', 'name']) !== undefined,
      60_000,
      daemon(join(this.logs, 'kube-controller-manager.log')),
    );
  }
}

/**
 * Takes the node down and puts the host back: stops the kubelet and control plane, kills what runs in the
 * node's cgroups and containerd's shims, unmounts, removes network namespaces, cgroups, bridge, iptables
 * chains, restores sysctls, and removes NODE_DIR (its logs are kept in $TMPDIR/baton-node-logs). Safe to run
 * when nothing is up, and after a killed run (it reads the state file).
 */
/** How long {@link upWithImages} took: helm and the images built or taken from the cache, then the node up with them. */
export interface UpTimings {
  /** Binaries, images and helm: built now (cold) or taken from the cache (warm). */
  prepareMs?: number;
  /** The node started and the images imported. */
  nodeUpMs?: number;
}

/**
 * What the real-node test and `npm run e2e:node` start from: helm and this tree's images (baton, the sample bot,
 * the previous release's baton) built or taken from the cache, the node up, and the images imported into it.
 * `timings` is filled as each part ends, so a caller that catches a failure still has what was measured.
 */
export async function upWithImages(log: Log = stderr, timings: UpTimings = {}): Promise<{ info: NodeInfo; helm: string }> {
  const node = new RealNode(log);
  const tPrep = Date.now();
  const [helm, images] = await Promise.all([ensureHelm(log), ensureImages(log)]);
  const tUp = Date.now();
  timings.prepareMs = tUp - tPrep;
  const info = await node.up();
  node.importImage(images.baton);
  node.importImage(images.bot);
  node.importImage(images.previousBaton);
  timings.nodeUpMs = Date.now() - tUp;
  return { info, helm };
}

export async function down(log: Log = stderr): Promise<string[]> {
  const state = readState();
  const done: string[] = [];
  const daemons = state?.daemons ?? {};
  const stop = async (names: string[]) => {
    const live = names.map((n) => [n, daemons[n]] as const).filter((x): x is readonly [string, Daemon] => !!x[1] && alive(x[1]));
    for (const [, d] of live) process.kill(d.pid, 'SIGTERM');
    const deadline = Date.now() + 15_000;
    while (live.some(([, d]) => alive(d)) && Date.now() < deadline) await sleep(100);
    for (const [n, d] of live) {
      if (alive(d)) process.kill(d.pid, 'SIGKILL');
      done.push(`stopped ${n} (${d.pid})`);
    }
  };
  await stop(['kubelet', 'kube-scheduler', 'kube-controller-manager']);
  // The pods' processes: everything in the node's cgroup tree (only this node puts processes there).
  for (let i = 0; i < 20; i++) {
    const pids = cgroupPids(CGROUP_ROOT);
    if (pids.length === 0) break;
    for (const pid of pids) tryKill(pid);
    await sleep(200);
  }
  // containerd's shims outlive containerd: they are ours when they were started for our socket.
  for (const pid of shimsOf(CONTAINERD_SOCK)) {
    tryKill(pid);
    done.push(`killed shim ${pid}`);
  }
  await stop(['containerd', 'kube-apiserver', 'etcd']);
  const unmounted = unmountUnder([NODE_DIR, RUN_DIR]);
  if (unmounted.length) done.push(`unmounted ${unmounted.length} mount(s)`);
  if (state) {
    const ns = removeNewNetns(state.snapshot);
    if (ns.length) done.push(`removed netns ${ns.join(', ')}`);
  }
  const left = removeCgroups(CGROUP_ROOT);
  if (left.length) done.push(`cgroups left (busy): ${left.join(', ')}`);
  if (removeBridge(BRIDGE)) done.push(`removed bridge ${BRIDGE}`);
  if (state) {
    const chains = restoreIptables(state.snapshot);
    if (chains.length) done.push(`removed iptables chains ${chains.join(', ')}`);
    const sys = restoreSysctls(state.snapshot);
    if (sys.length) done.push(`restored sysctls ${sys.join(', ')}`);
  } else if (existsSync(NODE_DIR)) {
    done.push('no state file: host settings could not be compared (nothing recorded)');
  }
  const mounted = [...mountsUnder(NODE_DIR), ...mountsUnder(RUN_DIR)];
  if (mounted.length) throw new Error(`node down: still mounted: ${mounted.join(', ')}`);
  if (existsSync(join(NODE_DIR, 'logs'))) {
    const keep = join(tmpdir(), 'baton-node-logs');
    rmSync(keep, { recursive: true, force: true });
    cpSync(join(NODE_DIR, 'logs'), keep, { recursive: true });
    done.push(`logs kept in ${keep}`);
  }
  rmSync(NODE_DIR, { recursive: true, force: true });
  rmSync(RUN_DIR, { recursive: true, force: true });
  for (const l of done) log(l);
  return done;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function shimsOf(sock: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('containerd-shim-runc-v2') && cmd.includes(sock)) out.push(Number(e));
    } catch {
      // exited
    }
  }
  return out;
}
