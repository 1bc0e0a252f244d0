// The Kubernetes I/O layer: a small REST client (no runtime client-node on the normal path), the
// Lease lock, single-object watchers, the Pod label and Events.
export { loadConnection, inClusterConnection, kubeconfigConnection, inClusterNamespace, FileTokenSource, SERVICE_ACCOUNT_DIR, TOKEN_REREAD_MS } from './connection.ts';
export type { KubeConnection, TlsSettings, LoadConnectionOptions } from './connection.ts';
export { KubeClient, watchIdleTimeoutMs } from './rest.ts';
export type { KubeRequest, WatchRequest, KubeClientOptions, RequestHook, QueryValue } from './rest.ts';
export { KubeApiError, KubeTransportError } from './errors.ts';
export type { CallTarget } from './errors.ts';
export { formatMicroTime, parseMicroTime } from './micro-time.ts';
export { LEASE_RESOURCE, leasePath, leaseSpecOf, observedLeaseOf } from './lease-convert.ts';
export type { LeaseSpecWire } from './lease-convert.ts';
export { KubeLeaseLock } from './lease-lock.ts';
export type { KubeLeaseLockOptions } from './lease-lock.ts';
export { ObjectWatcher, WatchExpiredError } from './object-watcher.ts';
export type { ObjectEvent, ObjectEventType, ObjectWatcherOptions, KubeObject } from './object-watcher.ts';
export { LeaseWatcher } from './lease-watch.ts';
export type { LeaseEvent, LeaseWatcherOptions } from './lease-watch.ts';
export { PodWatcher, observedPodOf, podPath, POD_RESOURCE } from './pod-watch.ts';
export type { ObservedPod, PodEvent, PodWatcherOptions } from './pod-watch.ts';
export { PodLabeler, ROLE_LABEL, isLabelRefusal } from './pod-label.ts';
export type { PodRole, PodLabelerOptions, PodLabelLogger } from './pod-label.ts';
export { provePodLabelRight, PodLabelRefused } from './pod-label-right.ts';
export type { PodLabelRight, PodLabelRightOptions } from './pod-label-right.ts';
export { EventRecorder, REPORTING_CONTROLLER, EVENT_RESOURCE } from './events.ts';
export type { EventInput, EventObjectRef, EventRecorderOptions } from './events.ts';
export { backoffDelay, sleep, DEFAULT_BACKOFF } from './backoff.ts';
export type { BackoffOptions } from './backoff.ts';
export { silentLogger } from './logger.ts';
export type { KubeLogger } from './logger.ts';
