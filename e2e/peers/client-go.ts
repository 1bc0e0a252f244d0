// Builds the client-go peer (./client-go, a small Go module pinned to client-go v0.37.2) through the Go
// module proxy into baton's binary cache, once per client-go version and source: like
// `ensureKubeBinaries` in test/kube/binaries.ts, a warm run finds the binary and a cold one needs only Go.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOnce, cacheRoot, runGo } from '../../test/kube/binaries.ts';

export const CLIENT_GO_MODULE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'client-go');
const SOURCES = ['go.mod', 'go.sum', 'main.go', 'worker.go'];

/** The client-go version go.mod pins (the cache folder is named after it). */
export function clientGoVersion(): string {
  const mod = readFileSync(join(CLIENT_GO_MODULE_DIR, 'go.mod'), 'utf8');
  const m = /^\s*k8s\.io\/client-go\s+(v\S+)/m.exec(mod);
  if (!m) throw new Error(`${CLIENT_GO_MODULE_DIR}/go.mod does not require k8s.io/client-go`);
  return m[1]!;
}

function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of SOURCES)
    h.update(f)
      .update('\0')
      .update(readFileSync(join(CLIENT_GO_MODULE_DIR, f)));
  return h.digest('hex').slice(0, 12);
}

/** Where the binary is, or will be, for the current sources. */
export function clientGoPeerPath(): string {
  return join(cacheRoot(), 'peers', `peer-clientgo-${clientGoVersion()}-${sourceHash()}`, 'peer-clientgo');
}

/** Returns the client-go peer's binary, building it first when it is missing (about 1.5 min cold on 2 cores). */
export async function ensureClientGoPeer(log: (line: string) => void = (l) => console.error(l)): Promise<string> {
  const path = clientGoPeerPath();
  await buildOnce(
    dirname(path),
    ['peer-clientgo'],
    `the client-go ${clientGoVersion()} peer`,
    (staging) =>
      runGo(['build', '-trimpath', '-ldflags=-s -w', '-o', join(staging, 'peer-clientgo'), '.'], CLIENT_GO_MODULE_DIR, {
        GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly`.trim(),
      }),
    log,
  );
  return path;
}
