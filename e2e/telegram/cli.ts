// Runs the double standalone (e.g. in a pod of the kind-based e2e):
//   node e2e/telegram/cli.ts --port 8081 --token 123:abc [--token ...] [--rate 20] [--duration-ms N]
//                            [--host 0.0.0.0] [--seed N]
// Prints the apiRoot URL on its first stdout line; stops cleanly on SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import { TelegramDouble } from './server.ts';

/** Parsed command line. */
export interface CliOptions {
  readonly port: number;
  readonly host: string;
  readonly tokens: readonly string[];
  readonly rate?: number;
  readonly durationMs?: number;
  readonly seed?: number;
}

/** Parses argv (without node and script); throws with a usage hint on bad input. */
export function parseCli(argv: readonly string[]): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '8081' },
      // In a pod the double must be reachable from other pods, so the CLI listens on all
      // interfaces by default (the library default stays loopback).
      host: { type: 'string', default: '0.0.0.0' },
      token: { type: 'string', multiple: true },
      rate: { type: 'string' },
      'duration-ms': { type: 'string' },
      seed: { type: 'string' },
    },
    strict: true,
  });
  const tokens = values.token ?? [];
  if (tokens.length === 0) throw new Error('usage: cli.ts --port 8081 --token 123:abc [--token ...] [--rate 20] [--duration-ms N] [--host H] [--seed N]');
  const number = (name: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a non-negative number, got ${raw}`);
    return n;
  };
  const rate = number('rate', values.rate);
  const durationMs = number('duration-ms', values['duration-ms']);
  const seed = number('seed', values.seed);
  return {
    port: number('port', values.port) ?? 8081,
    host: values.host,
    tokens,
    ...(rate !== undefined && rate > 0 ? { rate } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}

async function main(): Promise<void> {
  const opts = parseCli(process.argv.slice(2));
  const double = new TelegramDouble();
  const { url } = await double.start({ port: opts.port, host: opts.host, tokens: opts.tokens, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
  if (opts.rate !== undefined) double.startLoad({ ratePerSecond: opts.rate, ...(opts.durationMs !== undefined ? { durationMs: opts.durationMs } : {}) });
  process.stdout.write(`${url}\n`);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    double.stop().then(
      () => {
        process.stderr.write(`telegram double stopped (${signal})\n`);
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`telegram double stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  });
}
