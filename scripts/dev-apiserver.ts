// Starts the test API server and keeps it running, for trying baton by hand:
//   node scripts/dev-apiserver.ts   → prints KUBECONFIG=... and the next steps; Ctrl-C stops it.
import { TestApiServer } from '../test/kube/apiserver.ts';

/** What to run next, by hand: a Telegram double, then two "pods" (a bot and its sidecar each). */
export function nextSteps(kubeconfig: string): string {
  const pod = (name: string, port: number) => [
    `  # pod ${name}: the bot (it starts paused and waits for its sidecar's signal) ...`,
    `  BOT_NAME=${name} BATON_URL=http://127.0.0.1:${port} TELEGRAM_API_ROOT=http://127.0.0.1:8081/${name} npx node e2e/bots/bot.ts ${name} &`,
    `  # ... and its sidecar, which finds the bot by its command line and signals it`,
    `  npm run build && KUBECONFIG=${kubeconfig} BATON_LEASE_NAME=my-bot BATON_IDENTITY=${name} \\`,
    `    BATON_TARGET_COMMAND='bot\\.ts ${name}$' BATON_LISTEN=127.0.0.1:${port} BATON_PROBE_LISTEN=127.0.0.1:${port + 1} \\`,
    `    npx node dist/cli.js`,
  ];
  return [
    '',
    'Next steps, each in a terminal of its own at the repository root:',
    '',
    '  # a Telegram Bot API double that the bots long-poll (2 updates/s)',
    '  npx node e2e/telegram/cli.ts --port 8081 --token 123:abc --rate 2',
    '',
    ...pod('pod-a', 4040),
    '',
    ...pod('pod-b', 4050),
    '',
    "Then watch who leads and hand over by stopping the leader's sidecar (Ctrl-C = SIGTERM: it pauses its bot,",
    'waits for the confirmation and releases the Lease; the other pod starts polling within milliseconds):',
    `  KUBECONFIG=${kubeconfig} kubectl get lease my-bot -o wide -w    (or: curl -s 127.0.0.1:4040/leader)`,
    '  curl -s 127.0.0.1:4041/readyz; curl -s 127.0.0.1:4041/metrics | grep ^baton_',
    '',
    'npm run demo does all of this by itself, with three rolling updates and a timeline.',
  ].join('\n');
}

if (import.meta.main) {
  const server = new TestApiServer();
  const endpoint = await server.start();
  console.log(`KUBECONFIG=${endpoint.adminKubeconfig}`);
  console.log(`server ${endpoint.server}; logs in ${endpoint.dir}`);
  console.log(nextSteps(endpoint.adminKubeconfig));
  const stop = () => void server.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  setInterval(() => undefined, 1 << 30);
}
