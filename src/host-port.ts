// A `host:port` setting (BATON_LISTEN, BATON_PROBE_LISTEN): its parser, the loopback check, and the ports
// `fetch` refuses. Shared by the config, which validates the settings, and the servers (src/http/listen.ts).
import { isIP } from 'node:net';

/** A parsed `host:port`. `host` has no brackets (`::1`, not `[::1]`). */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host:port`: `127.0.0.1:4040`, `localhost:4040`, `0.0.0.0:4041`, `[::1]:4040`, `[::]:4041`.
 * The host is required: an empty host means different interfaces to fastify and to Go tools, so we ask.
 */
export function parseHostPort(value: string, setting = 'listen address'): HostPort {
  const example = `${setting}: expected host:port such as 127.0.0.1:4040 or [::1]:4040`;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  if (!m) throw new Error(`${example}, got ${JSON.stringify(value)} (put an IPv6 address in brackets)`);
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (m[1] !== undefined && isIP(host) !== 6) throw new Error(`${example}: ${JSON.stringify(host)} in brackets is not an IPv6 address`);
  if (port > 65535) throw new Error(`${example}: port ${port} is above 65535`);
  return { host, port };
}

/**
 * The Fetch standard's "bad ports" (https://fetch.spec.whatwg.org/#bad-port), as undici (Node's `fetch`)
 * enforces them: `fetch('http://127.0.0.1:4190/')` fails with "bad port" without connecting, and
 * browsers refuse them too. A listen address on one of them would be unreachable for the worker kit
 * (which talks to the local API with `fetch`), so config refuses them. test/unit/http/listen.test.ts
 * compares this list with the installed undici's and with Node's own `fetch`, so it cannot drift.
 */
export const BAD_FETCH_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137,
  139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** True for `localhost`, 127.0.0.0/8, `::1` and IPv4-mapped loopback (`::ffff:127.0.0.1`). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}
