#!/usr/bin/env node
// baton's entry point: reads the configuration, starts the sidecar, and turns SIGTERM into a handoff.
// Exit codes: 0 after a clean stop, 1 when it could not start or failed, 2 for a bad setting.
import { readFileSync } from 'node:fs';
import { load as loadYaml } from 'js-yaml';
import { startBaton } from './app.ts';
import { ConfigError, helpText, loadConfig, type BatonConfig } from './config.ts';
import { loadConnection } from './kube/connection.ts';
import { createLogger } from './logger.ts';
import { errorText } from './sidecar.ts';
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
  let config: BatonConfig;
  try {
    config = loadConfig({ argv, env: process.env, kubeconfigNamespace });
  } catch (err) {
    if (err instanceof ConfigError) exit(2, `baton: ${err.message}`);
    throw err;
  }
  const env = { ...process.env, KUBECONFIG: config.kubeconfig ?? process.env.KUBECONFIG };
  const connection = await loadConnection({ env }).catch((err: unknown) => exit(2, `baton: ${errorText(err)}`));
  const logger = createLogger(config.logLevel, { identity: config.identity, lease: config.leaseName, namespace: config.namespace });

  const baton = await startBaton(config, connection, logger).catch((err: unknown) => {
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

/** The kubeconfig context's namespace, as the last default for BATON_NAMESPACE outside a cluster. */
function kubeconfigNamespace(path: string): string | undefined {
  try {
    const doc = loadYaml(readFileSync(path.split(':')[0]!, 'utf8')) as {
      'current-context'?: string;
      contexts?: Array<{ name: string; context?: { namespace?: string } }>;
    };
    return doc.contexts?.find((c) => c.name === doc['current-context'])?.context?.namespace;
  } catch {
    return undefined;
  }
}

function exit(code: number, message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

main(process.argv.slice(2)).catch((err: unknown) => exit(1, `baton: ${errorText(err)}`));
