// Starts a fastify instance on a `host:port` setting and reports where it really listens (port 0 in
// tests). Also holds the loopback guard for the local API, tied to the instance so it cannot be forgotten.
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { isLoopbackHost, parseHostPort, type HostPort } from '../host-port.ts';

/** Where a server is listening. */
export interface BoundAddress extends HostPort {
  /** `http://host:port`, with brackets around an IPv6 host. */
  url: string;
}

/** Options for {@link listen}. */
export interface ListenOptions {
  /** The setting the address came from (e.g. `BATON_PROBE_LISTEN`), named in error messages. */
  setting?: string;
}

/** Instances that may only listen on loopback, with the setting to name when they are told otherwise. */
const loopbackOnly = new WeakMap<FastifyInstance, string>();

/**
 * Marks an instance as loopback-only: {@link listen} then refuses any other address, naming `setting`.
 * Defence in depth behind config validation: the local API can change state (`POST /paused`).
 */
export function requireLoopback(app: FastifyInstance, setting: string): void {
  loopbackOnly.set(app, setting);
}

/** Listens on `hostPort` and returns the address actually bound. */
export async function listen(app: FastifyInstance, hostPort: string, options: ListenOptions = {}): Promise<BoundAddress> {
  const guarded = loopbackOnly.get(app);
  const setting = options.setting ?? guarded ?? 'listen address';
  const { host, port } = parseHostPort(hostPort, setting);
  if (guarded !== undefined && !isLoopbackHost(host)) throw notLoopback(guarded, host);

  await app.listen({ host, port });
  const address = app.server.address() as AddressInfo;
  // `localhost` is resolved by the system: check what was really bound, not just what was asked.
  if (guarded !== undefined && !isLoopbackHost(address.address)) {
    await app.close();
    throw notLoopback(guarded, address.address);
  }
  const shown = isIP(address.address) === 6 ? `[${address.address}]` : address.address;
  return { host: address.address, port: address.port, url: `http://${shown}:${address.port}` };
}

function notLoopback(setting: string, host: string): Error {
  return new Error(
    `${setting}: the local API serves POST /paused and must listen on loopback only, not ${host}. ` +
      `Set ${setting} to 127.0.0.1:<port> or [::1]:<port>; the kubelet and Prometheus use BATON_PROBE_LISTEN instead.`,
  );
}
