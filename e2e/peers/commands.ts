// The benchmark's peers (client-go, the seeds' Postgres locks) as agents for SimPod
// (test/harness/sim-pod.ts), which runs them in place of the baton sidecar.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const PG_ADVISORY = join(here, 'pg-advisory.ts');
export const PG_TTL = join(here, 'pg-ttl.ts');

export type PeerKind = 'client-go' | 'pg-advisory' | 'pg-ttl';

/** How to start one peer process; the pod adds PEER_IDENTITY, PEER_TARGET_COMMAND and PEER_LOG. */
export interface PeerCommand {
  kind: PeerKind;
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** client-go's leaderelection (the binary from `ensureClientGoPeer`). Timings are Go durations; unset = client-go's defaults 15s/10s/2s. */
export function clientGoPeer(o: {
  binary: string;
  kubeconfig: string;
  namespace: string;
  leaseName: string;
  leaseDuration?: string;
  renewDeadline?: string;
  retryPeriod?: string;
}): PeerCommand {
  const env: Record<string, string> = { KUBECONFIG: o.kubeconfig, PEER_NAMESPACE: o.namespace, PEER_LEASE_NAME: o.leaseName };
  if (o.leaseDuration) env.PEER_LEASE_DURATION = o.leaseDuration;
  if (o.renewDeadline) env.PEER_RENEW_DEADLINE = o.renewDeadline;
  if (o.retryPeriod) env.PEER_RETRY_PERIOD = o.retryPeriod;
  return { kind: 'client-go', command: o.binary, args: [], env };
}

/** Seed 001: a session advisory lock, retried every `retryMs` (2000), released first thing on SIGTERM. */
export function pgAdvisoryPeer(o: { url: string; key: number | bigint; retryMs?: number }): PeerCommand {
  const env: Record<string, string> = { PEER_PG_URL: o.url, PEER_LOCK_KEY: String(o.key) };
  if (o.retryMs !== undefined) env.PEER_RETRY_MS = String(o.retryMs);
  return { kind: 'pg-advisory', command: process.execPath, args: [PG_ADVISORY], env };
}

/** Seed 000: a row with a `ttlMs` (30000) TTL, checked every `checkMs` (10000), deleted on SIGTERM. */
export function pgTtlPeer(o: { url: string; lockName: string; ttlMs?: number; checkMs?: number }): PeerCommand {
  const env: Record<string, string> = { PEER_PG_URL: o.url, PEER_LOCK_NAME: o.lockName };
  if (o.ttlMs !== undefined) env.PEER_TTL_MS = String(o.ttlMs);
  if (o.checkMs !== undefined) env.PEER_CHECK_MS = String(o.checkMs);
  return { kind: 'pg-ttl', command: process.execPath, args: [PG_TTL], env };
}
