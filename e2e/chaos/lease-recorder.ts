// An independent witness of the Lease: every version the API server stored (by the admin's own watch,
// resumed from the last resourceVersion after any interruption, so no committed version is skipped),
// for the epoch rule (S2: leaseTransitions never falls, also across deletion) and the holder history.
import * as k8s from '@kubernetes/client-node';

export interface LeaseVersion {
  /** When the recorder learned it (ms, performance.timeOrigin-based). */
  at: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resourceVersion: string;
  holder: string;
  transitions: number;
  durationSeconds: number;
  /** spec.renewTime as written (the writer's wall clock), ms since the epoch; NaN when absent. */
  renewTime: number;
}

export class LeaseRecorder {
  readonly versions: LeaseVersion[] = [];
  private abort: AbortController | undefined;
  private stopped = false;
  private rv: string | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Callers of {@link addedAfter} waiting for a version; told of each recorded one. */
  private readonly waiters = new Set<() => void>();

  private readonly kc: k8s.KubeConfig;
  private readonly namespace: string;
  private readonly name: string;

  constructor(kc: k8s.KubeConfig, namespace: string, name: string) {
    this.kc = kc;
    this.namespace = namespace;
    this.name = name;
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.abort?.abort();
  }

  /** One event of the watch (public so that unit tests can play the watch). */
  record(type: string, obj: k8s.V1Lease): void {
    if (obj?.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
    const spec = obj.spec ?? {};
    const renew = spec.renewTime as unknown;
    this.versions.push({
      at: performance.timeOrigin + performance.now(),
      type,
      resourceVersion: obj.metadata?.resourceVersion ?? '',
      holder: spec.holderIdentity ?? '',
      transitions: spec.leaseTransitions ?? 0,
      durationSeconds: spec.leaseDurationSeconds ?? 0,
      renewTime: renew instanceof Date ? renew.getTime() : typeof renew === 'string' ? Date.parse(renew) : Number.NaN,
    });
    for (const w of [...this.waiters]) w();
  }

  /**
   * The first creation (ADDED) of the Lease the recorder saw after `since`. `readVersion` is the
   * resourceVersion a read returned (proof that the Lease exists again); `timeoutMs` bounds the wait for the watch.
   */
  async addedAfter(since: number, readVersion: string | undefined, timeoutMs: number): Promise<LeaseVersion | undefined> {
    // A read can answer before the watch delivers the same version (issue 19). Events come in order, so once
    // the recorder holds the version the read returned, it holds the creation before it too, if there was one.
    if (readVersion !== undefined) await this.seen(readVersion, timeoutMs);
    return this.versions.find((v) => v.at > since && v.type === 'ADDED');
  }

  /** Resolves once a version with `resourceVersion` is recorded, or after `timeoutMs` (the caller judges what is there). */
  private seen(resourceVersion: string, timeoutMs: number): Promise<void> {
    const has = (): boolean => this.versions.some((v) => v.resourceVersion === resourceVersion);
    if (has()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = (): void => {
        if (has()) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** The versions seen so far, as a short history line for messages. */
  history(): string {
    const steps = this.versions.map((v) => (v.type === 'DELETED' ? 'deleted' : `${v.holder || '""'}#${v.transitions}`));
    // Renewals repeat the same step: show each step once.
    return steps.filter((x, i) => x !== steps[i - 1]).join(' → ');
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    const watch = new k8s.Watch(this.kc);
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases`;
    let ended = false;
    const again = (): void => {
      if (ended) return;
      ended = true;
      if (!this.stopped) this.restartTimer = setTimeout(() => void this.run(), 300);
    };
    try {
      this.abort = await watch.watch(
        path,
        { fieldSelector: `metadata.name=${this.name}`, allowWatchBookmarks: true, ...(this.rv ? { resourceVersion: this.rv } : {}) },
        (type: string, obj: k8s.V1Lease) => this.record(type, obj),
        (err: unknown) => {
          // 410 Gone: the resourceVersion is too old; start over with a fresh list (the epoch check tolerates it).
          if (err && String((err as Error).message ?? err).includes('410')) this.rv = undefined;
          again();
        },
      );
    } catch {
      again();
    }
  }
}
