// Ports for the servers the tests start (sidecars, etcd, kube-apiserver, Postgres), chosen so that nobody
// else can take one between the pick and the bind (issue 19: a sidecar failed with EADDRINUSE on a port that
// `listen(0)` had just found free).
// T1: never in the kernel's ephemeral range. The kernel hands those out to every outgoing connection and to
//     every `listen(0)`; below it, a port is taken only by a process that names it.
// T2: each process owns a block of ports, claimed by holding a listening socket on the block's first port for
//     its life: parallel vitest workers and concurrent runs that use this module never pick the same port.
//     Within its block a process hands each port out once, after checking nobody else listens on it.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** The lowest port of the blocks: above every "bad port" of the Fetch standard (the highest is 10080). */
export const PORTS_FROM = 20_000;
/** Ports in one block, its claim port included. */
export const BLOCK_SIZE = 50;

/** The kernel's ephemeral range, `[low, high]`, from /proc (Linux's default when it cannot be read). */
export function ephemeralRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  try {
    const [low, high] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // Not Linux, or /proc not mounted: assume Linux's default.
  }
  return [32768, 60999];
}

/** Binds `127.0.0.1:port`, or resolves undefined when someone holds it. */
function bind(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(srv));
  });
}

export interface PortAllocatorOptions {
  /** The ports to carve blocks from, `[first, last]`; default: from {@link PORTS_FROM} to below the ephemeral range. */
  range?: [number, number];
  blockSize?: number;
  /** Where the search for a free block starts (default: this process's pid, to spread processes apart). */
  seed?: number;
}

/** Hands out ports outside the ephemeral range from blocks this allocator owns (T1, T2). */
export class PortAllocator {
  private readonly first: number;
  private readonly blocks: number;
  private readonly blockSize: number;
  private readonly seed: number;
  /** Claim sockets of the blocks owned, held until {@link close}. */
  private readonly claims: Server[] = [];
  private next = 0;
  private end = 0;
  private tried = 0;
  private pending: Promise<number> = Promise.resolve(0);

  constructor(options: PortAllocatorOptions = {}) {
    this.blockSize = options.blockSize ?? BLOCK_SIZE;
    const [first, last] = options.range ?? [PORTS_FROM, ephemeralRange()[0] - 1];
    const [low, high] = ephemeralRange();
    // T1: refuse a range that reaches into the ephemeral one rather than hand out ports that can be stolen.
    if (first <= high && last >= low) throw new Error(`PortAllocator: ports ${first}-${last} overlap the ephemeral range ${low}-${high}`);
    this.first = first;
    this.blocks = Math.floor((last - first + 1) / this.blockSize);
    if (this.blocks < 1) throw new Error(`PortAllocator: no block of ${this.blockSize} ports in ${first}-${last} (ephemeral range ${low}-${high})`);
    this.seed = options.seed ?? process.pid;
  }

  /** A port nobody listens on and that this allocator never handed out before. */
  allocate(): Promise<number> {
    // One at a time: two callers must not check the same candidate.
    const next = this.pending.then(
      () => this.take(),
      () => this.take(),
    );
    this.pending = next;
    return next;
  }

  /** Gives the blocks up (other processes may claim them again). */
  close(): void {
    for (const c of this.claims.splice(0)) c.close();
    this.next = this.end = 0;
  }

  private async take(): Promise<number> {
    for (;;) {
      while (this.next < this.end) {
        const port = this.next++;
        // Owned, but someone that does not use this module may listen there: skip it.
        const probe = await bind(port);
        if (!probe) continue;
        await new Promise((r) => probe.close(r));
        return port;
      }
      await this.claimBlock();
    }
  }

  private async claimBlock(): Promise<void> {
    while (this.tried < this.blocks) {
      const index = (this.seed + this.tried++) % this.blocks;
      const start = this.first + index * this.blockSize;
      const claim = await bind(start);
      if (!claim) continue; // T2: another process owns it.
      this.claims.push(claim);
      this.next = start + 1;
      this.end = start + this.blockSize;
      return;
    }
    throw new Error(`PortAllocator: all ${this.blocks} blocks of ${this.blockSize} ports from ${this.first} are taken`);
  }
}

let shared: PortAllocator | undefined;

/** A port for a server a test starts: outside the ephemeral range, unique across this machine's test processes (T1, T2). */
export function freePort(): Promise<number> {
  shared ??= new PortAllocator();
  return shared.allocate();
}
