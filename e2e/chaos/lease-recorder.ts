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
        (type: string, obj: k8s.V1Lease) => {
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
        },
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
