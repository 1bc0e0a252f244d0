// npm run node:up — a real one-node Kubernetes cluster on this machine (root, Linux): builds the binaries once,
// installs containerd/runc/CNI plugins/buildah from Debian when missing, starts etcd, the control plane,
// containerd and the kubelet, and prints the KUBECONFIG. `npm run node:down` takes it down and restores the host.
//   npm run node:up [-- --images]     --images: also build and import the baton and sample bot images
import { parseArgs } from 'node:util';
import { RealNode } from '../test/node/node.ts';
import { ensureImages } from '../test/node/images.ts';

const { values } = parseArgs({ options: { images: { type: 'boolean', default: false } } });
const node = new RealNode();
const info = await node.up();
if (values.images) {
  const images = await ensureImages();
  node.importImage(images.baton);
  node.importImage(images.bot);
}
node.detach();
console.log(`export KUBECONFIG=${info.kubeconfig}`);
console.log(`# kubectl: ${info.kubectl}; API server ${info.server}; host address for pods ${info.gateway}; logs ${info.logs}`);
