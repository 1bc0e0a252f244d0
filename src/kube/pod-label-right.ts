// Proves at start that the API server lets this sidecar label its own Pod (rule C4).
// Without the right, the label could never be written: the sidecar would run with a label that lies, and
// before this check its refused patches kept /readyz at 503, stalling `maxUnavailable: 0` rollouts.
import { backoffDelay, sleep, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { KubeApiError } from './errors.ts';
import { silentLogger, type KubeLogger } from './logger.ts';
import { POD_RESOURCE, podPath } from './pod-watch.ts';
import { isLabelRefusal, rolePatch, ROLE_LABEL, type OwnPodLabel } from './pod-label.ts';

/** The API server refuses the label patch: BATON_POD_LABEL=true cannot work with these rights or policies. */
export class PodLabelRefused extends Error {
  override name = 'PodLabelRefused';
  /** The HTTP status of the refusal (403, 422 or 400). */
  readonly status: number;

  constructor(namespace: string, podName: string, cause: KubeApiError) {
    // One line: the CLI prints it as the whole of its output before exiting 2 (rule C3).
    const said = `${cause.status}${cause.reason ? ` ${cause.reason}` : ''}: ${cause.apiMessage.replace(/\s+/g, ' ').trim()}`;
    super(
      `BATON_POD_LABEL=true, but the API server refuses this sidecar's patch of its own Pod "${podName}" in namespace "${namespace}" (${said}): ` +
        "grant `patch` on pods to the sidecar's ServiceAccount (chart: rbac.podLabel=true, the default, with rbac.create=true; and, with " +
        'rbac.admissionPolicy, a token bound to this Pod) or set BATON_POD_LABEL=false (chart: rbac.podLabel=false) to run without the label',
      { cause },
    );
    this.status = cause.status;
  }
}

/** Options of {@link provePodLabelRight}. */
export interface PodLabelRightOptions extends OwnPodLabel {
  /** Between attempts while the API server does not answer (default 250 ms → 5 s). */
  backoff?: BackoffOptions;
  logger?: KubeLogger;
  /** Gives up (resolves `aborted`) when it fires. */
  signal?: AbortSignal;
}

/** `granted`: the patch would be applied; `pod-absent`: the own Pod does not exist (yet), nothing to prove on. */
export type PodLabelRight = 'granted' | 'pod-absent' | 'aborted';

/**
 * Asks the API server to label the own Pod with a server-side dry run (`dryRun=All`): authorization and
 * every admission policy and webhook judge it exactly as the real patch, and nothing is written. Rejects
 * with {@link PodLabelRefused} when it is refused; retries for as long as the API server does not answer
 * (down, 5xx, 429, timeouts), because a transient failure says nothing about the right.
 */
export async function provePodLabelRight(options: PodLabelRightOptions): Promise<PodLabelRight> {
  const logger = options.logger ?? silentLogger;
  const key = options.labelKey ?? ROLE_LABEL;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  for (let failures = 0; !options.signal?.aborted;) {
    try {
      await options.client.request({
        verb: 'patch',
        resource: POD_RESOURCE,
        method: 'PATCH',
        path: podPath(options.namespace, options.podName),
        query: { dryRun: 'All' },
        // `standby` (label and deletion cost, C5) is what a starting sidecar writes first, and what the
        // chart's policy allows.
        body: rolePatch(key, 'standby'),
        contentType: 'application/merge-patch+json',
        timeoutMs: options.requestTimeoutMs ?? 10_000,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      logger.debug({ event: 'pod-label-check', label: key, result: 'granted' }, `the API server allows labelling Pod ${options.podName}`);
      return 'granted';
    } catch (err) {
      if (options.signal?.aborted) break;
      if (isLabelRefusal(err)) throw new PodLabelRefused(options.namespace, options.podName, err);
      if (err instanceof KubeApiError && err.status === 404) return 'pod-absent';
      const delay = backoffDelay(++failures, backoff);
      // One warning for an outage, then debug: the probe server says what is missing meanwhile.
      logger[failures === 1 ? 'warn' : 'debug'](
        { event: 'pod-label-check', label: key, err, retryInMs: delay },
        `cannot check yet whether the API server allows labelling Pod ${options.podName}: ${err instanceof Error ? err.message : String(err)}; retrying`,
      );
      await sleep(delay, options.signal);
    }
  }
  return 'aborted';
}
