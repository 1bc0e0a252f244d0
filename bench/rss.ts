// npm run bench:rss — idle RSS of the bundled sidecar (build/baton.mjs, the image's) as a lone leader against
// the real API server, with and without the image's Node flags, and with a token kubeconfig (the in-cluster
// path: no @kubernetes/client-node) or an `exec` kubeconfig (which loads the optional client-node).
// The difference is client-node's marginal cost. Prints a table, then one line of JSON (the last line).
//   npm run bench:rss -- --idle 20
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BUNDLE } from '../scripts/bundle.ts';
import { SIDECAR_NODE_FLAGS, SimPod } from '../test/harness/sim-pod.ts';
import { TestApiServer } from '../test/kube/apiserver.ts';
import { adminKubeConfig, freshNamespace, serviceAccountKubeconfig, sidecarRules } from '../test/kube/cluster.ts';
import { sleep, waitFor } from '../test/harness/wait.ts';

const { values } = parseArgs({ options: { idle: { type: 'string', default: '20' } } });
const IDLE_S = Number(values.idle);
const log = (s: string) => process.stderr.write(`${s}\n`);

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round((Number(m?.[1]) / 1024) * 10) / 10;
}

/** The same kubeconfig, its token handed out by an exec credential plugin instead. */
function execKubeconfig(tokenKubeconfig: string, dir: string): string {
  const text = readFileSync(tokenKubeconfig, 'utf8');
  const token = /^\s+token: (\S+)$/m.exec(text)![1]!;
  const plugin = join(dir, 'credential.mjs');
  writeFileSync(
    plugin,
    `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: ${JSON.stringify(token)} } }));\n`,
  );
  const exec = [
    '    exec:',
    '      apiVersion: client.authentication.k8s.io/v1',
    `      command: ${JSON.stringify(process.execPath)}`,
    `      args: [${JSON.stringify(plugin)}]`,
    '      interactiveMode: Never',
  ].join('\n');
  const path = join(dir, 'exec.kubeconfig');
  writeFileSync(path, text.replace(/^\s+token: \S+$/m, exec));
  return path;
}

const server = new TestApiServer({ log });
const endpoint = await server.start();
const kc = adminKubeConfig(endpoint);
const dir = mkdtempSync(join(tmpdir(), 'baton-rss-'));
const rows: Array<{ flags: string; kubeconfig: string; rssMB: number }> = [];
try {
  let seq = 0;
  for (const flags of [SIDECAR_NODE_FLAGS, []]) {
    for (const kind of ['token', 'exec'] as const) {
      seq += 1;
      const namespace = await freshNamespace(endpoint, `rss-${seq}`);
      const tokenConfig = await serviceAccountKubeconfig(endpoint, namespace, 'baton', sidecarRules('rss'));
      const pod = new SimPod({
        name: `rss-${seq}`,
        namespace,
        leaseName: 'rss',
        kc,
        dir,
        preStopMs: 200,
        graceMs: 60_000,
        kubeconfig: kind === 'token' ? tokenConfig : execKubeconfig(tokenConfig, dir),
        env: { BATON_LOG_LEVEL: 'info' },
        cli: BUNDLE,
        nodeArgs: flags,
      });
      try {
        await pod.start();
        await waitFor('leader polls', () => pod.polling(), 30_000);
        await sleep(IDLE_S * 1000);
        const rss = rssMB(pod.sidecar!.pid!);
        rows.push({ flags: flags.join(' ') || '(none)', kubeconfig: kind, rssMB: rss });
        log(`${flags.join(' ') || 'no flags'}, ${kind} kubeconfig: ${rss} MB`);
      } finally {
        pod.kill();
        await pod.exited().catch(() => undefined);
      }
    }
  }
  console.log('');
  console.log(`baton idle RSS — bundled sidecar as a lone leader, Node ${process.versions.node}, ${IDLE_S} s idle`);
  console.log('');
  console.log('| Node flags                              | kubeconfig user               | RSS      |');
  console.log('|-----------------------------------------|-------------------------------|----------|');
  for (const r of rows) {
    const user = r.kubeconfig === 'token' ? 'token (no client-node)' : 'exec plugin (client-node)';
    console.log(`| ${r.flags.padEnd(39)} | ${user.padEnd(29)} | ${`${r.rssMB} MB`.padEnd(8)} |`);
  }
  const delta = (f: string) => {
    const t = rows.find((r) => r.flags === f && r.kubeconfig === 'token')!.rssMB;
    const e = rows.find((r) => r.flags === f && r.kubeconfig === 'exec')!.rssMB;
    return Math.round((e - t) * 10) / 10;
  };
  const imageFlags = SIDECAR_NODE_FLAGS.join(' ');
  const result = { rows, clientNodeMarginalMB: { imageFlags: delta(imageFlags), noFlags: delta('(none)') } };
  console.log('');
  console.log(
    `@kubernetes/client-node's marginal cost: +${result.clientNodeMarginalMB.imageFlags} MB with the image's flags, +${result.clientNodeMarginalMB.noFlags} MB without`,
  );
  console.log(JSON.stringify(result));
} finally {
  await server.stop();
}
