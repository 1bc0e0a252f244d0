// Keeps an up-to-date view of ONE named object (or of the objects a label selector picks): list, then
// watch from the list's resourceVersion, reconnecting from the last version seen (bookmarks advance it)
// and relisting only when the server says that version is too old (410 Gone). This is client-go's
// reflector, narrowed to what baton watches.
import { backoffDelay, DEFAULT_BACKOFF, sleep, type BackoffOptions } from './backoff.ts';
import { KubeApiError, KubeTransportError } from './errors.ts';
import { watchIdleTimeoutMs, type KubeClient } from './rest.ts';

/**
 * `SYNCED`: a (re)list found the object (`object` is its current state); `ABSENT`: a (re)list found nothing;
 * `LISTED`: a (re)list by label selector (`objects`, every one it found). `ADDED`/`MODIFIED`/`DELETED` come
 * from the watch. After a relist the consumer should replace its view.
 */
export type ObjectEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'ABSENT' | 'SYNCED' | 'LISTED';

/** One observation of the watched object. */
export interface ObjectEvent<T> {
  type: ObjectEventType;
  object?: T;
  /** LISTED: everything the list found. */
  objects?: T[];
  /** ABSENT: the list's resourceVersion, so a consumer can tell an old absence from news. */
  resourceVersion?: string;
}

/**
 * Why the list-and-watch (re)starts: `initial` (the first time), or how the request before it ended:
 * `closed` (the server ended the watch, normally every `timeoutSeconds`), `expired` (410 Gone: relist),
 * `timeout` (no headers in time, or a silent watch presumed half-open), `error` (refused, reset, non-2xx).
 */
export type WatchStartReason = 'initial' | 'closed' | 'expired' | 'timeout' | 'error';

/** Every {@link WatchStartReason}, for metrics that start each series at zero. */
export const WATCH_START_REASONS: readonly WatchStartReason[] = ['initial', 'closed', 'expired', 'timeout', 'error'];

/** One (re)start of the list-and-watch, as `onStart` reports it. */
export interface WatchStart {
  reason: WatchStartReason;
  /** Failed attempts in a row since the API server last answered (0 after a normal end or a first 410). */
  failures: number;
  /** The last failure, when `failures` is above 0. */
  error?: Error;
}

/** The fields the watcher itself reads from an object. */
export interface KubeObject {
  metadata?: { name?: string; resourceVersion?: string };
}

/** Options of `ObjectWatcher`. */
export interface ObjectWatcherOptions<T> {
  client: KubeClient;
  /** As RBAC names it, e.g. `leases.coordination.k8s.io`. */
  resource: string;
  /** The namespaced collection, e.g. `/apis/coordination.k8s.io/v1/namespaces/NS/leases`. */
  collectionPath: string;
  /** One object by `fieldSelector=metadata.name=NAME`: what `name` names (a `string` is this). */
  name: string | { labelSelector: string };
  onEvent: (event: ObjectEvent<T>) => void;
  /** Errors the watcher recovers from (for logs); also exceptions thrown by `onEvent`. */
  onError?: (err: Error) => void;
  /** Before each list or watch request that (re)starts the watch (every retry too), with why. */
  onStart?: (start: WatchStart) => void;
  /** The API server answered again after `failures` (> 0) failed attempts in a row. */
  onRecovered?: (failures: number) => void;
  /** Server-side watch duration; the watch is then resumed from the last version (default 60). */
  timeoutSeconds?: number;
  /** Silence after which a watch connection is presumed dead (default `watchIdleTimeoutMs(timeoutSeconds)`). */
  idleTimeoutMs?: number;
  /** Bound for the list and for a watch's response headers (default 10 s). */
  requestTimeoutMs?: number;
  backoff?: BackoffOptions;
  random?: () => number;
}

/** The stored version is too old to resume from: relist. */
export class WatchExpiredError extends Error {
  override name = 'WatchExpiredError';
}

/**
 * Watches one object by `fieldSelector=metadata.name=NAME` (authorised per resourceName for list and watch),
 * or every object a label selector picks.
 */
export class ObjectWatcher<T extends KubeObject> {
  /** `performance.now()` of the last successful response or stream byte; undefined before the first. */
  lastContact: number | undefined;
  /** The last failure; cleared by the next success. */
  lastError: Error | undefined;
  /** True once a list has succeeded. */
  synced = false;
  /** The version the next watch resumes from. */
  resourceVersion: string | undefined;
  private readonly options: ObjectWatcherOptions<T>;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | undefined;
  /** Failed attempts since the last answer from the API server (what `onStart` and `onRecovered` report). */
  private failuresInARow = 0;

  constructor(options: ObjectWatcherOptions<T>) {
    this.options = options;
  }

  /** Starts listing and watching; idempotent. */
  start(): this {
    this.loop ??= this.run();
    return this;
  }

  /** Ends the watch; resolves once no request is in flight any more. */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private async run(): Promise<void> {
    const o = this.options;
    const timeoutSeconds = o.timeoutSeconds ?? 60;
    const idleTimeoutMs = o.idleTimeoutMs ?? watchIdleTimeoutMs(timeoutSeconds);
    const requestTimeoutMs = o.requestTimeoutMs ?? 10_000;
    let needList = true;
    let failures = 0;
    let expiredInARow = 0;
    let reason: WatchStartReason = 'initial';
    while (!this.stopped) {
      const started = performance.now();
      let events = 0;
      this.started(reason);
      try {
        if (needList) {
          await this.list(requestTimeoutMs);
          needList = false;
        }
        await o.client.watch({
          verb: 'watch',
          resource: o.resource,
          path: o.collectionPath,
          query: {
            ...this.selector(),
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
          },
          signal: this.stopper.signal,
          idleTimeoutMs,
          connectTimeoutMs: requestTimeoutMs,
          onActivity: () => this.contact(),
          onEvent: (type, object) => {
            events++;
            this.handle(type, object as T);
          },
        });
        // The server ended the watch (timeoutSeconds): resume at once, unless it ends instantly and empty
        // again and again (a misbehaving proxy), which would spin.
        expiredInARow = 0;
        reason = 'closed';
        if (events === 0 && performance.now() - started < 1000) {
          await sleep(backoffDelay(++failures, o.backoff ?? DEFAULT_BACKOFF, o.random), this.stopper.signal);
        } else {
          failures = 0;
        }
      } catch (err) {
        if (this.stopped) break;
        const error = err instanceof Error ? err : new Error(String(err));
        if (isExpired(error)) {
          needList = true;
          reason = 'expired';
          // The first 410 relists at once; 410 after 410 (nothing else in between) is paced like any failure.
          if (++expiredInARow === 1) continue;
        } else {
          expiredInARow = 0;
          reason = error instanceof KubeTransportError && error.code === 'timeout' ? 'timeout' : 'error';
        }
        this.failuresInARow++;
        this.lastError = error;
        o.onError?.(error);
        await sleep(backoffDelay(++failures, o.backoff ?? DEFAULT_BACKOFF, o.random), this.stopper.signal);
      }
    }
  }

  private async list(timeoutMs: number): Promise<void> {
    const o = this.options;
    const list = await o.client.request<{ metadata?: { resourceVersion?: string }; items?: T[] }>({
      verb: 'list',
      resource: o.resource,
      method: 'GET',
      path: o.collectionPath,
      query: this.selector(),
      timeoutMs,
      signal: this.stopper.signal,
    });
    this.contact();
    this.resourceVersion = list.metadata?.resourceVersion;
    this.synced = true;
    if (typeof o.name !== 'string') return this.emit({ type: 'LISTED', objects: list.items ?? [] });
    const object = list.items?.find((item) => item.metadata?.name === o.name);
    const rv = list.metadata?.resourceVersion;
    this.emit(object ? { type: 'SYNCED', object } : rv === undefined ? { type: 'ABSENT' } : { type: 'ABSENT', resourceVersion: rv });
  }

  private handle(type: string, object: T): void {
    const rv = object?.metadata?.resourceVersion;
    switch (type) {
      case 'BOOKMARK':
        if (rv) this.resourceVersion = rv;
        return;
      case 'ERROR': {
        const status = object as { code?: number; message?: string; reason?: string };
        if (status.code === 410) throw new WatchExpiredError(`watch of ${this.options.resource} ${this.describe()} expired: ${status.message ?? 'Gone'}`);
        throw new Error(
          `watch of ${this.options.resource} ${this.describe()} failed: ${status.code ?? '?'} ${status.reason ?? ''} ${status.message ?? ''}`.trim(),
        );
      }
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED':
        if (rv) this.resourceVersion = rv;
        // a proxy ignoring the fieldSelector
        if (typeof this.options.name === 'string' && object?.metadata?.name !== this.options.name) return;
        this.emit({ type, object });
        return;
      default:
        return; // unknown event types are skipped, as client-go does
    }
  }

  private selector(): { fieldSelector: string } | { labelSelector: string } {
    const n = this.options.name;
    return typeof n === 'string' ? { fieldSelector: `metadata.name=${n}` } : { labelSelector: n.labelSelector };
  }

  private describe(): string {
    const n = this.options.name;
    return typeof n === 'string' ? `"${n}"` : `(${n.labelSelector})`;
  }

  private emit(event: ObjectEvent<T>): void {
    try {
      this.options.onEvent(event);
    } catch (err) {
      // The consumer's bug must not stop the watch that keeps the sidecar informed.
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private contact(): void {
    this.lastContact = performance.now();
    this.lastError = undefined;
    if (this.failuresInARow > 0) {
      const failures = this.failuresInARow;
      this.failuresInARow = 0;
      this.report(() => this.options.onRecovered?.(failures));
    }
  }

  private started(reason: WatchStartReason): void {
    const failures = this.failuresInARow;
    const start: WatchStart = failures > 0 && this.lastError ? { reason, failures, error: this.lastError } : { reason, failures };
    this.report(() => this.options.onStart?.(start));
  }

  /** Runs a reporting hook; its bug must not stop the watch. */
  private report(hook: () => void): void {
    try {
      hook();
    } catch (err) {
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

function isExpired(err: Error): boolean {
  return err instanceof WatchExpiredError || (err instanceof KubeApiError && err.status === 410);
}

/**
 * One named object's watch whose objects are converted for the caller: the shared body of
 * `LeaseWatcher` and `PodWatcher`, which differ only in the resource and the conversion.
 */
export class ConvertingWatcher<T extends KubeObject> {
  private readonly watcher: ObjectWatcher<T>;

  constructor(options: ObjectWatcherOptions<T>) {
    this.watcher = new ObjectWatcher<T>(options);
  }

  /** `performance.now()` of the last answer or stream byte from the API server. */
  get lastContact(): number | undefined {
    return this.watcher.lastContact;
  }

  /** The last failure, cleared by the next success; for readiness. */
  get lastError(): Error | undefined {
    return this.watcher.lastError;
  }

  /** True once a list succeeded. */
  get synced(): boolean {
    return this.watcher.synced;
  }

  /** Starts listing and watching; idempotent. */
  start(): this {
    this.watcher.start();
    return this;
  }

  /** Ends the watch; resolves when no request is in flight. */
  stop(): Promise<void> {
    return this.watcher.stop();
  }
}
