// Starts the test API server and keeps it running, for trying baton by hand:
//   node scripts/dev-apiserver.ts   → prints KUBECONFIG=...; Ctrl-C stops it.
import { TestApiServer } from '../test/kube/apiserver.ts';

const server = new TestApiServer();
const endpoint = await server.start();
console.log(`KUBECONFIG=${endpoint.adminKubeconfig}`);
console.log(`server ${endpoint.server}; logs in ${endpoint.dir}`);
const stop = () => void server.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => undefined, 1 << 30);
