// npm run node:down — stops the real node started by `npm run node:up` (or left behind by a killed run) and
// restores the host: sysctls, iptables chains, bridge, mounts, cgroups, network namespaces (see test/node/node.ts).
import { down } from '../test/node/node.ts';

const done = await down();
if (done.length === 0) console.error('node: nothing to take down');
