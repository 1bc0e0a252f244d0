// Kubernetes Events (events.k8s.io/v1) for what an operator should see in `kubectl describe`: leadership
// changes, handoffs, refusals. Recording is fire-and-forget: an Event must never delay a handoff; only
// shutdown waits for the Events in flight, bounded (E1).
import type { KubeLogger } from './logger.ts';
import { formatMicroTime } from './micro-time.ts';
import type { KubeClient } from './rest.ts';

/** The object an Event is about. */
export interface EventObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

/** One Event to record. */
export interface EventInput {
  regarding: EventObjectRef;
  related?: EventObjectRef;
  type: 'Normal' | 'Warning';
  /** Why, in UpperCamelCase (`LeaderElected`); at most 128 characters. */
  reason: string;
  /** What was done (`Acquire`, `Release`); at most 128 characters. */
  action: string;
  /** Human-readable; cut to 1 kB. */
  note: string;
}

/** Options of `EventRecorder`. */
export interface EventRecorderOptions {
  client: KubeClient;
  /** `reportingInstance`: this sidecar's identity. */
  identity: string;
  logger: KubeLogger;
  /** Used when `regarding.namespace` is unset. */
  namespace: string;
  /** Per request (default 5 s). */
  requestTimeoutMs?: number;
  /** Events beyond this many in flight are dropped, not queued (default 16). */
  maxInFlight?: number;
}

/** `reportingController` of every Event baton writes. */
export const REPORTING_CONTROLLER = 'baton.dev/sidecar';
/** The resource as RBAC names it. */
export const EVENT_RESOURCE = 'events.events.k8s.io';

/** Posts Events without ever blocking or throwing into the caller; failures are logged. */
export class EventRecorder {
  private readonly options: EventRecorderOptions;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(options: EventRecorderOptions) {
    this.options = options;
  }

  /** Sends the Event in the background. */
  record(event: EventInput): void {
    const o = this.options;
    if (this.inFlight.size >= (o.maxInFlight ?? 16)) {
      o.logger.warn({ reason: event.reason, inFlight: this.inFlight.size }, 'event dropped: too many in flight (API server slow?)');
      return;
    }
    const p = this.post(event).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /**
   * Resolves when every Event recorded so far was sent or given up on; with `timeoutMs`, at the latest
   * after that long. Returns false (and logs the Events left) when the bound ended the wait.
   */
  async flush(timeoutMs?: number): Promise<boolean> {
    const pending = [...this.inFlight];
    if (pending.length === 0) return true;
    const all = Promise.all(pending).then(() => true);
    if (timeoutMs === undefined) return all;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const sent = await Promise.race([all, expired]);
    clearTimeout(timer);
    // E1: an exit right after this loses the Events still in flight; say so instead of losing them silently.
    if (!sent)
      this.options.logger.warn(
        { event: 'events-flush', outcome: 'timeout', pending: this.inFlight.size, timeoutMs },
        `${this.inFlight.size} Event(s) still unsent after ${timeoutMs} ms; exiting without them`,
      );
    return sent;
  }

  private async post(event: EventInput): Promise<void> {
    const o = this.options;
    const namespace = event.regarding.namespace ?? o.namespace;
    try {
      const body = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        // Events validate generateName itself as a DNS subdomain, so it must end alphanumeric ("pod." is
        // refused with 422): the server appends 5 random characters to "<name>.baton".
        metadata: { generateName: `${event.regarding.name.slice(0, 200)}.baton`, namespace },
        eventTime: formatMicroTime(new Date()),
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: o.identity.slice(0, 128),
        type: event.type,
        reason: event.reason.slice(0, 128),
        action: event.action.slice(0, 128),
        note: truncateBytes(event.note, 1024),
        regarding: { ...event.regarding, namespace },
        ...(event.related ? { related: event.related } : {}),
      };
      await o.client.request({
        verb: 'create',
        resource: EVENT_RESOURCE,
        method: 'POST',
        path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`,
        body,
        timeoutMs: o.requestTimeoutMs ?? 5_000,
      });
      o.logger.debug({ reason: event.reason, action: event.action }, 'event recorded');
    } catch (err) {
      o.logger.warn({ err, reason: event.reason, action: event.action }, 'event not recorded');
    }
  }
}

/** The API limits `note` to 1 kB (bytes, not characters). */
function truncateBytes(text: string, max: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= max) return text;
  // Drop a partial multi-byte character at the cut (U+FFFD) instead of sending invalid UTF-8.
  return buf
    .subarray(0, max)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}
