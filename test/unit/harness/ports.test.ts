// The test harness's port allocator (test/kube/ports.ts): ports the sidecars, etcd, kube-apiserver and
// Postgres of the tests bind must never be in the kernel's ephemeral range (any outgoing connection may take
// one between the pick and the bind: EADDRINUSE, issue 19), and never the same twice, also across parallel
// vitest workers and concurrent runs (each one a PortAllocator of its own here).
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ephemeralRange, freePort, PortAllocator, PORTS_FROM } from '../../kube/ports.ts';

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});

/** Below the blocks freePort uses (no test process hands these out), so that the outcome is the same every run. */
const TEST_RANGE_FROM = PORTS_FROM - 5000;

function allocator(seed: number, blockSize = 10, blocks = 4): PortAllocator {
  const a = new PortAllocator({ range: [TEST_RANGE_FROM, TEST_RANGE_FROM + blocks * blockSize - 1], blockSize, seed });
  opened.push(a);
  return a;
}

async function listenOn(port: number): Promise<Server> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  opened.push(srv);
  return srv;
}

describe('freePort', () => {
  it('T1: never returns a port in the ephemeral range, nor the same port twice', async () => {
    const [low, high] = ephemeralRange();
    const ports = [await freePort(), await freePort()];
    for (const p of ports) expect(p < low || p > high, `port ${p} inside ${low}-${high}`).toBe(true);
    expect(ports[0]).not.toBe(ports[1]);
  });
});

describe('PortAllocator', () => {
  it('T2: two processes starting their search at the same block never hand out the same port', async () => {
    const [a, b] = [allocator(0), allocator(0)];
    const ports: number[] = [];
    for (let i = 0; i < 12; i++) ports.push(await a.allocate(), await b.allocate());
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('concurrent calls get different ports', async () => {
    const a = allocator(1);
    const ports = await Promise.all(Array.from({ length: 15 }, () => a.allocate()));
    expect(new Set(ports).size).toBe(15);
  });

  it('skips a port of its block that a process outside the scheme listens on', async () => {
    const a = allocator(2);
    const first = await a.allocate();
    await listenOn(first + 1);
    expect(await a.allocate()).toBe(first + 2);
  });

  it('every port it hands out can be bound', async () => {
    const a = allocator(3);
    for (let i = 0; i < 5; i++) await listenOn(await a.allocate());
  });

  it('says so when every block is taken', async () => {
    const [a, b] = [allocator(0, 20, 2), allocator(0, 20, 2)];
    await a.allocate();
    await b.allocate();
    await expect(allocator(0, 20, 2).allocate()).rejects.toThrow(/all 2 blocks of 20 ports/);
  });

  it('refuses a range that overlaps the ephemeral range', () => {
    const [low] = ephemeralRange();
    expect(() => new PortAllocator({ range: [low - 10, low + 10] })).toThrow(/overlap the ephemeral range/);
  });
});
