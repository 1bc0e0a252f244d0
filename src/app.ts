// Assembles a running baton from a validated config: Kubernetes connection, Lease lock and watch, own
// Pod watch, label and Events, worker controller, election, local API and probe server.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ApiHealthTally } from './api-health.ts';
import { assembleSidecar } from './assemble.ts';
import { EVALUATE_EVERY_MS, SCAN_INTERVAL_MS } from './defaults.ts';
import { errorText } from './error-text.ts';
import { ConfigError, type BatonConfig } from './config.ts';
import { systemClock } from './election/clock.ts';
import { requestTimeoutMs } from './election/rules.ts';
import { listen } from './http/listen.ts';
import { createLocalApi } from './http/local-api.ts';
import { createProbeServer } from './http/probe-server.ts';
import { offerOutcome, registerTakeoverRoute, sendWord, warmWordPath, type WordTarget } from './http/takeover.ts';
import { EventRecorder, type EventObjectRef } from './kube/events.ts';
import { KubeLeaseLock } from './kube/lease-lock.ts';
import { LeaseWatcher } from './kube/lease-watch.ts';
import { DELETION_COST_ANNOTATION, PodLabeler, ROLE_LABEL } from './kube/pod-label.ts';
import { PodLabelRefused, provePodLabelRight } from './kube/pod-label-right.ts';
import { PeerWatcher } from './kube/peer-watch.ts';
import { PodWatcher, type ObservedPod } from './kube/pod-watch.ts';
import { KubeClient } from './kube/rest.ts';
import { watchReport } from './kube/watch-report.ts';
import type { KubeConnection } from './kube/connection.ts';
import { BatonMetrics } from './metrics.ts';
import { newerPeer } from './rollout/newer-revision.ts';
import { wordTargets } from './rollout/word-targets.ts';
import type { HandoffTrigger, Sidecar, WordChannel } from './sidecar.ts';
import { VERSION } from './version.ts';
import { TargetFinder } from './worker/target.ts';

export interface RunningBaton {
  sidecar: Sidecar;
  /** Where the servers really listen (ports resolved when 0 was asked for). */
  listen: { local: string; probe: string };
  handOver(trigger: HandoffTrigger): Promise<void>;
  /** Stops everything and closes the servers. */
  close(): Promise<void>;
}

export async function startBaton(config: BatonConfig, connection: KubeConnection, logger: Logger): Promise<RunningBaton> {
  const clock = systemClock;
  const metrics = new BatonMetrics({
    signals: [config.startSignal, config.pauseSignal],
    watches: ['lease', ...(config.podName ? ['pod'] : []), ...(peersWanted(config) ? ['peers'] : [])],
  });
  metrics.info(config.identity, config.leaseName, config.namespace, VERSION);
  // C4: the label's patch is not part of the job; refusing it must never fail /readyz.
  const api = new ApiHealthTally(clock, connection.server, config.namespace, { optional: ['patch pods'] });
  const client = new KubeClient(connection, {
    userAgent: `baton/${VERSION}`,
    onRequest: (verb, resource, code) => {
      metrics.kubeRequest(verb, resource, code);
      api.request(verb, resource, code);
    },
  });
  const kubeLogger = logger.child({ component: 'kube' });
  const timeoutMs = requestTimeoutMs(config);

  const lock = new KubeLeaseLock({ client, namespace: config.namespace, name: config.leaseName, requestTimeoutMs: timeoutMs });

  let pod: ObservedPod | undefined;
  const finder = new TargetFinder({
    selector: config.target,
    startSignal: config.startSignal,
    pauseSignal: config.pauseSignal,
    containerId: () => (config.target.kind === 'container' ? pod?.containerIDs.get(config.target.name) : undefined),
  });

  // BATON_POD_LABEL=false: the Role has no `patch pods` (chart value rbac.podLabel=false), so never try.
  const labeler =
    config.podName && config.podLabel
      ? new PodLabeler({ client, namespace: config.namespace, podName: config.podName, logger: kubeLogger, requestTimeoutMs: timeoutMs })
      : undefined;
  const recorder = new EventRecorder({ client, identity: config.identity, logger: kubeLogger, namespace: config.namespace, requestTimeoutMs: timeoutMs });
  const leaseRef: EventObjectRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: config.leaseName, namespace: config.namespace };

  // W1: the peers a leader tells its word to (kept by the peer watch below), on their probe port — the same
  // Deployment, the same port. The key is this process's own: a restarted sidecar seals its terms anew.
  let targets: WordTarget[] = [];
  const leaseId = `${config.namespace}/${config.leaseName}`;
  const takeover = config.takeoverOfferMs === undefined ? undefined : { key: randomBytes(32).toString('hex'), offerMs: config.takeoverOfferMs };
  const wordChannel: WordChannel | undefined = takeover && {
    offer: async (word) => {
      const told = targets;
      const deliveries = told.length === 0 ? [] : await sendWord(told, config.probeListen.port, { ...word, lease: leaseId }, takeover.offerMs);
      return offerOutcome(
        told.map((t) => t.name),
        deliveries,
      );
    },
  };

  const { sidecar, elector, pauses } = assembleSidecar({
    identity: config.identity,
    leaseName: config.leaseName,
    namespace: config.namespace,
    timings: {
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs,
      renewIntervalMs: config.renewIntervalMs,
    },
    pauseAckTimeoutMs: config.pauseAckTimeoutMs,
    drainMs: config.drainMs,
    workerGraceMs: config.workerGraceMs,
    scanIntervalMs: SCAN_INTERVAL_MS,
    evaluateEveryMs: EVALUATE_EVERY_MS,
    yieldDelayMs: config.yieldDelayMs,
    takeover,
    wordChannel,
    lock,
    finder,
    clock,
    random: Math.random,
    logger,
    metrics,
    api,
    reporters: {
      label: labeler ? (role) => labeler.set(role) : undefined,
      event: (type, reason, action, note) => {
        const podRef: EventObjectRef | undefined = config.podName
          ? { apiVersion: 'v1', kind: 'Pod', name: config.podName, namespace: config.namespace, ...(pod?.uid ? { uid: pod.uid } : {}) }
          : undefined;
        // One Event on the Lease (kubectl describe lease) and one on the Pod (kubectl describe pod).
        recorder.record({ regarding: leaseRef, ...(podRef ? { related: podRef } : {}), type, reason, action, note });
        if (podRef) recorder.record({ regarding: podRef, related: leaseRef, type, reason, action, note });
      },
    },
  });

  const leaseWatcher = new LeaseWatcher({
    client,
    namespace: config.namespace,
    name: config.leaseName,
    requestTimeoutMs: timeoutMs,
    ...watchReport({ watch: 'lease', label: `Lease "${config.leaseName}"`, logger, count: (w, r) => metrics.watchStart(w, r) }),
    onEvent: (e) => {
      api.activity();
      // SYNCED carries the Lease as a (re)list found it, e.g. after a 410: as good as a MODIFIED.
      // S1: an absence carries the version it was seen at (the deletion's, the list's): older than what the
      // elector knows (its own create's answer), it is old news (docs/protocol.md).
      if (e.type === 'DELETED') elector.observe(undefined, e.lease?.resourceVersion);
      else if (e.type === 'ABSENT') elector.observe(undefined, e.resourceVersion);
      else if (e.lease) elector.observe(e.lease);
    },
    onError: (err) => {
      api.failure(err);
      logger.debug({ event: 'watch-error', resource: 'lease', err }, `Lease watch: ${err.message}; reconnecting`);
    },
  });

  const podWatcher = config.podName
    ? new PodWatcher({
        client,
        namespace: config.namespace,
        name: config.podName,
        requestTimeoutMs: timeoutMs,
        ...watchReport({ watch: 'pod', label: `Pod "${config.podName}"`, logger, count: (w, r) => metrics.watchStart(w, r) }),
        onEvent: (e) => {
          if (e.pod && e.type !== 'DELETED') {
            pod = e.pod;
            // A label or a deletion cost someone else changed is put back: both must always tell the truth.
            labeler?.observe(e.pod.labels[ROLE_LABEL], e.pod.resourceVersion, e.pod.annotations[DELETION_COST_ANNOTATION]);
          }
          if (e.pod?.deletionTimestamp || e.type === 'DELETED') {
            // A native sidecar gets SIGTERM only after the worker has exited: the deletionTimestamp is its first word.
            if (!sidecar.isHandingOver) logger.info({ event: 'handoff', trigger: 'deletion' }, 'own Pod is being deleted: handing over');
            void sidecar.handOver('deletion');
          }
          if (e.type === 'ABSENT')
            logger.warn(
              { event: 'pod-missing', pod: config.podName },
              `own Pod ${config.podName} not found: label and Pod events are skipped until it appears`,
            );
        },
        onError: (err) => logger.debug({ event: 'watch-error', resource: 'pod', err }, `Pod watch: ${err.message}; reconnecting`),
      })
    : undefined;

  // Y1: the pods of the same Lease, for a Ready one of a newer revision to hand over to before this one is deleted.
  // Its own client: a Role that may not list pods by label (one that names the own Pod only) turns Y1 off with
  // one warning, and never counts against /readyz — the job does not depend on it, as for the label (C4).
  // (config.yieldDelayMs is set only with POD_NAME: the own Pod is found among its peers by name.) W1's word goes
  // to the peers it lists, so it runs for either rule.
  const podName = peersWanted(config) ? config.podName : undefined;
  let peersRefused = false;
  const peersClient = podName
    ? new KubeClient(connection, {
        userAgent: `baton/${VERSION}`,
        onRequest: (verb, resource, code) => {
          metrics.kubeRequest(verb, resource, code);
          if (code !== '403' || peersRefused) return;
          peersRefused = true;
          logger.warn(
            { event: 'yield', phase: 'off', reason: 'forbidden' },
            `the Role may not ${verb} pods by label in namespace ${config.namespace}: this pod hands over only when it ends, ` +
              `and by a release (rules Y1 and W1 are off). Grant list and watch on pods, or set BATON_YIELD_TO_NEWER=off and BATON_TAKEOVER=off`,
          );
          void peerWatcher?.stop();
          targets = [];
          sidecar.setNewerPeer(undefined);
        },
      })
    : undefined;
  const peerWatcher =
    podName && peersClient
      ? new PeerWatcher({
          client: peersClient,
          namespace: config.namespace,
          leaseName: config.leaseName,
          requestTimeoutMs: timeoutMs,
          ...watchReport({ watch: 'peers', label: `pods of Lease "${config.leaseName}"`, logger, count: (w, r) => metrics.watchStart(w, r) }),
          onChange: (pods) => {
            if (peersRefused) return;
            const self = pods.get(podName);
            const newer = self && config.yieldDelayMs !== undefined ? newerPeer(self, pods.values())?.name : undefined;
            targets = wordTargets(podName, pods.values(), newer);
            sidecar.setNewerPeer(newer);
          },
          onError: (err) => logger.debug({ event: 'watch-error', resource: 'peers', err }, `peer Pod watch: ${err.message}; reconnecting`),
        })
      : undefined;

  const localApi = createLocalApi(
    {
      status: () => sidecar.status(),
      subscribe: (l) => sidecar.subscribe(l),
      readiness: () => sidecar.readiness(),
      health: () => sidecar.health(),
      confirmPause: (id) => sidecar.confirmPause(id),
      workerSaysItConfirms: () => pauses.workerSaysItConfirms(),
    },
    { logger },
  );
  const readiness = () => {
    // The kubelet asks every few seconds: keep the gauge as fresh as the probe.
    const r = sidecar.readiness();
    metrics.setReady(r.ready);
    return r;
  };
  const probes = createProbeServer({ readiness, health: () => sidecar.health(), metrics }, { logger });
  // W1: the word of this Lease's leader, from the pod network; only with W1 on (BATON_TAKEOVER).
  if (takeover) registerTakeoverRoute(probes, (m) => (m.lease === leaseId ? sidecar.hearWord(m) : { taking: false, reason: 'other-lease' }));

  let servers: FastifyInstance[] = [];
  try {
    const local = await listen(localApi, `${hostPart(config.listen.host)}:${config.listen.port}`, { setting: 'BATON_LISTEN' });
    servers.push(localApi);
    const probe = await listen(probes, `${hostPart(config.probeListen.host)}:${config.probeListen.port}`, { setting: 'BATON_PROBE_LISTEN' });
    servers.push(probes);
    // W1: run the word's path once end to end before any handoff needs it (`warmWordPath` says why).
    if (takeover) void warmWordPath(loopbackOf(probe.host), probe.port, leaseId);
    // C4: BATON_POD_LABEL=true is proven before the Lease or the worker is touched; a refusal exits 2. It
    // waits out an API server that does not answer (the probes are up, /readyz says why it is not ready).
    if (labeler && config.podName) {
      await provePodLabelRight({ client, namespace: config.namespace, podName: config.podName, requestTimeoutMs: timeoutMs, logger: kubeLogger });
    }
    leaseWatcher.start();
    podWatcher?.start();
    peerWatcher?.start();
    sidecar.start();
    logger.info(
      { event: 'started', version: VERSION, kube: connection.source, local: local.url, probe: probe.url, target: describeTarget(config) },
      `baton ${VERSION} started for Lease ${config.namespace}/${config.leaseName} as ${config.identity}`,
    );
    return {
      sidecar,
      listen: { local: local.url, probe: probe.url },
      handOver: (trigger) => sidecar.handOver(trigger),
      close: async () => {
        // L3: every stop is bounded by one request timeout, so shutdown ends while requests hang.
        const bounded = (p: Promise<unknown> | undefined) => Promise.race([p, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
        sidecar.stop();
        labeler?.stop();
        // E1: the handoff's Events (LeaderReleased) are still in flight when it returns, and the CLI exits
        // right after close(): wait for them, bounded like every other stop (L3).
        await Promise.allSettled([bounded(leaseWatcher.stop()), bounded(podWatcher?.stop()), bounded(peerWatcher?.stop()), recorder.flush(timeoutMs)]);
        await Promise.allSettled(servers.map((s) => bounded(s.close())));
        servers = [];
        peersClient?.close();
      },
    };
  } catch (err) {
    // Nothing half-started: close whatever did start before reporting.
    await Promise.allSettled(servers.map((s) => s.close()));
    if (err instanceof PodLabelRefused) throw new ConfigError(err.message, { cause: err });
    throw new Error(`could not start: ${errorText(err)}`, { cause: err });
  }
}

/** Where this process reaches its own server: a wildcard address is reached on loopback. */
function loopbackOf(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function hostPart(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function describeTarget(config: BatonConfig): string {
  const t = config.target;
  if (t.kind === 'container') return `container ${t.name}`;
  if (t.kind === 'command') return `command /${t.pattern.source}/`;
  return `pid file ${t.path}`;
}

/** The peer watch runs for Y1 (the newer pod) and W1 (the word's targets); both need POD_NAME (config sets neither without). */
function peersWanted(config: BatonConfig): boolean {
  return config.podName !== undefined && (config.yieldDelayMs !== undefined || config.takeoverOfferMs !== undefined);
}
