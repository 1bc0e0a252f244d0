// The worker kits (Node baton-worker, python/baton_worker.py) send `baton-worker-confirms: 1` with
// every request to the local API: whether a worker confirms its pauses is a property of the worker,
// and a sidecar that restarted learns it from the worker's next poll instead of waiting only the
// drain at the next handoff (the boot race: its first confirmation may arrive after the pod took the Lease, and is refused).
import type { FastifyRequest } from 'fastify';

/** The header's name (lower case, as Node delivers it). */
export const WORKER_CONFIRMS_HEADER = 'baton-worker-confirms';

/** Calls `deps.workerSaysItConfirms()` when the request carries the header with value `1`. */
export function noteWorkerConfirms(request: FastifyRequest, deps: { workerSaysItConfirms?(): void }): void {
  if (request.headers[WORKER_CONFIRMS_HEADER] === '1') deps.workerSaysItConfirms?.();
}
