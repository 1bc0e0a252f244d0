// Which datastore the test API server keeps the cluster in, and how kube-apiserver reads it: etcd (the
// default, as kubeadm and managed clusters run it), or kine on SQLite (k3s's default on a single server),
// each with the API server's watch cache on (the default) or off (as older or customised k3s servers run).
// Chosen by environment, so the same test files run on every backend (vitest.config.ts: projects `kine` and
// `kine-no-watch-cache`; `BATON_TEST_DATASTORE=kine npx vitest run ...`; `npm run chaos -- --datastore kine`).
import { join } from 'node:path';

/** The programs that can hold the cluster's state for the test API server. */
export type DatastoreKind = 'etcd' | 'kine';

/** A backend the tests run on. */
export interface Datastore {
  kind: DatastoreKind;
  /** kube-apiserver's `--watch-cache`: off, every watch and list goes to the datastore. */
  watchCache: boolean;
}

/** The default backend: etcd, watch cache on. */
export const DEFAULT_DATASTORE: Datastore = { kind: 'etcd', watchCache: true };

/**
 * The backend named by `BATON_TEST_DATASTORE` (`etcd`|`kine`, default `etcd`) and `BATON_TEST_WATCH_CACHE`
 * (`on`|`off`, default `on`). Any other value throws naming the variable: a typo must not quietly test etcd.
 */
export function datastoreFromEnv(env: NodeJS.ProcessEnv = process.env): Datastore {
  const kind = env.BATON_TEST_DATASTORE || DEFAULT_DATASTORE.kind;
  if (kind !== 'etcd' && kind !== 'kine') throw new Error(`BATON_TEST_DATASTORE=${kind}: expected etcd or kine`);
  const cache = env.BATON_TEST_WATCH_CACHE || 'on';
  if (cache !== 'on' && cache !== 'off') throw new Error(`BATON_TEST_WATCH_CACHE=${cache}: expected on or off`);
  return { kind, watchCache: cache === 'on' };
}

/** One line for logs and reports, e.g. `kine (SQLite), watch cache off`. */
export function describeDatastore(d: Datastore): string {
  return `${d.kind === 'kine' ? 'kine (SQLite)' : 'etcd'}, watch cache ${d.watchCache ? 'on' : 'off'}`;
}

/**
 * The datastore's command line: it serves the etcd v3 API on `127.0.0.1:port` and keeps its data under
 * `dataDir`, so a restart with the same arguments finds the cluster as it was (a k3s server restart).
 */
export function datastoreArgs(kind: DatastoreKind, dataDir: string, port: number, peerPort: number): string[] {
  const url = `http://127.0.0.1:${port}`;
  if (kind === 'kine') {
    return [
      // k3s's own SQLite settings (kine's DefaultParams): WAL, a 30 s busy timeout, immediate transactions.
      '--endpoint',
      `sqlite://${join(dataDir, 'state.db')}?_journal_mode=WAL&_busy_timeout=30000&_synchronous=NORMAL&_txlock=immediate&_stmt_cache_size=20&cache=shared`,
      '--listen-address',
      `127.0.0.1:${port}`,
      // kine's metrics listen on every interface (:8080) by default; 0 turns them off.
      '--metrics-bind-address',
      '0',
    ];
  }
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    url,
    '--advertise-client-urls',
    url,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    `default=${peer}`,
    '--unsafe-no-fsync',
    '--log-level',
    'warn',
  ];
}

/** kube-apiserver's flags for the backend (the storage backend is etcd3 for both: kine speaks etcd's v3 API). */
export function apiserverStorageArgs(d: Datastore, port: number): string[] {
  return [`--etcd-servers=http://127.0.0.1:${port}`, '--storage-backend=etcd3', ...(d.watchCache ? [] : ['--watch-cache=false'])];
}
