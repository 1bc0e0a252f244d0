#!/usr/bin/env node
// baton's entry point: reads the configuration, starts the sidecar, and turns SIGTERM into a handoff.
// Exit codes: 0 after a clean stop, 1 when it could not start or failed, 2 for a bad setting.
import { startBaton } from './app.ts';
import { ConfigError, helpText, loadConfig, NamespaceUnknown, type BatonConfig } from './config.ts';
import { errorText } from './error-text.ts';
import { loadConnection } from './kube/connection.ts';
import { createLogger } from './logger.ts';
import { VERSION } from './version.ts';

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText());
    return;
  }
  if (argv.includes('--version')) {
    process.stdout.write(`baton ${VERSION}\n`);
    return;
  }
  // Settings first (a bad one exits 2 before anything is read), then the connection. Its kubeconfig
  // context's namespace (the connection's own reading of KUBECONFIG: the first existing file) is
  // BATON_NAMESPACE's last default, so a config that needs it is read once more with it.
  const first = settings(argv);
  const connection = await loadConnection({ env: { ...process.env, KUBECONFIG: first.kubeconfig ?? process.env.KUBECONFIG } }).catch((err: unknown) =>
    exit(2, `baton: ${errorText(err)}`),
  );
  const config = first instanceof NamespaceUnknown ? settings(argv, connection.namespace ?? '') : first;
  if (config instanceof NamespaceUnknown) exit(2, `baton: ${config.message}`);
  const logger = createLogger(config.logLevel, { identity: config.identity, lease: config.leaseName, namespace: config.namespace });

  const baton = await startBaton(config, connection, logger).catch((err: unknown) => {
    // A setting the cluster refuses (BATON_POD_LABEL without `patch pods`): one line, exit 2, like C3.
    if (err instanceof ConfigError) exit(2, `baton: ${err.message}`);
    logger.fatal({ event: 'start-failed', err }, errorText(err));
    return exit(1, `baton: ${errorText(err)}`);
  });

  let terms = 0;
  const onTerm = (signal: NodeJS.Signals) => {
    terms += 1;
    if (terms > 1) {
      // A second SIGTERM: leave now. The pause already went out with the first one; an unreleased
      // Lease simply expires, which is safe.
      logger.warn({ event: 'shutdown', signal, prompt: true }, `second ${signal}: exiting without waiting`);
      process.exit(0);
    }
    logger.info({ event: 'shutdown', signal, leader: baton.sidecar.status().isLeader }, `${signal}: handing over and exiting`);
    void baton
      .handOver('SIGTERM')
      .then(() => baton.close())
      .then(
        () => {
          logger.info({ event: 'stopped' }, 'baton stopped');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ event: 'stopped', err }, `stopped with an error: ${errorText(err)}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onTerm);
}

/** The validated settings, or `NamespaceUnknown` (the connection must name the namespace); exits 2 on any other problem. */
function settings(argv: string[], connectionNamespace?: string): BatonConfig | NamespaceUnknown {
  try {
    return loadConfig({ argv, env: process.env, connectionNamespace });
  } catch (err) {
    if (err instanceof NamespaceUnknown) return err;
    if (err instanceof ConfigError) exit(2, `baton: ${err.message}`);
    throw err;
  }
}

function exit(code: number, message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

main(process.argv.slice(2)).catch((err: unknown) => exit(1, `baton: ${errorText(err)}`));
