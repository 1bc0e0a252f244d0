// npm run chaos — the fault suite (issue 9, "Proof" 3): every scenario of e2e/chaos/scenarios.ts against a
// real API server and real processes, under steady load with batches over a second, judged by the rules
// from the bots' own logs and the Telegram double's ledger. Prints a table (the README's "Fault suite")
// and every check; writes e2e/results/chaos.json. Exits 1 when a scenario fails.
//
//   npm run chaos -- [--only api-freeze,lease-deleted] [--timings default|fast] [--rate 20] [--handler-ms 30] [--burst 40]
//                    [--datastore etcd|kine] [--watch-cache on|off]   (default: BATON_TEST_DATASTORE/BATON_TEST_WATCH_CACHE, else etcd, on)
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultRenewIntervalMs } from '../../src/election/rules.ts';
import { TestApiServer } from '../../test/kube/apiserver.ts';
import { datastoreFromEnv } from '../../test/kube/datastore.ts';
import { SCENARIOS, type ScenarioContext } from './scenarios.ts';
import { details, table, type ChaosResult } from './verdict.ts';
import { DEFAULT_TIMINGS, FAST_TIMINGS } from './world.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    timings: { type: 'string', default: 'default' },
    rate: { type: 'string', default: '20' },
    'handler-ms': { type: 'string', default: '30' },
    burst: { type: 'string', default: '40' },
    datastore: { type: 'string' },
    'watch-cache': { type: 'string' },
  },
});
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${s}\n`);
const timings = values.timings === 'fast' ? FAST_TIMINGS : DEFAULT_TIMINGS;
const only = values.only?.split(',');
const chosen = SCENARIOS.filter((s) => !only || only.includes(s.id));
if (only && chosen.length !== only.length) {
  console.error(`unknown scenario in --only; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  process.exit(2);
}

// The flags read like the harness's variables (test/kube/datastore.ts), which check them.
let datastore;
try {
  datastore = datastoreFromEnv({
    ...process.env,
    ...(values.datastore ? { BATON_TEST_DATASTORE: values.datastore } : {}),
    ...(values['watch-cache'] ? { BATON_TEST_WATCH_CACHE: values['watch-cache'] } : {}),
  });
} catch (err) {
  console.error(`npm run chaos: ${(err as Error).message} (--datastore etcd|kine, --watch-cache on|off)`);
  process.exit(2);
}
const server = new TestApiServer({ log, datastore });
const endpoint = await server.start();
const dir = mkdtempSync(join(tmpdir(), 'baton-chaos-'));
const ctx: ScenarioContext = {
  endpoint,
  server,
  dir,
  timings,
  rate: Number(values.rate),
  handlerMs: Number(values['handler-ms']),
  burst: Number(values.burst),
  log,
};
const results: ChaosResult[] = [];
try {
  for (const s of chosen) {
    log(`— ${s.id}: ${s.title}`);
    const r = await s.run(ctx);
    results.push(r);
    log(details(r));
  }
} finally {
  await server.stop();
}

const resultsDir = join(root, 'e2e', 'results');
mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  join(resultsDir, 'chaos.json'),
  `${JSON.stringify({ generatedAt: new Date().toISOString(), node: process.versions.node, settings: { timings, rate: ctx.rate, handlerMs: ctx.handlerMs, burst: ctx.burst }, datastore: endpoint.datastore, results: results.map(({ timeline: _t, ...r }) => r) }, null, 2)}\n`,
);
const t = timings;
console.log('');
console.log(
  `fault suite on ${endpoint.datastore}: lease ${t.leaseDurationMs / 1000} s, renew deadline ${t.renewDeadlineMs / 1000} s, retry ${t.retryPeriodMs / 1000} s, renew interval ${defaultRenewIntervalMs(t) / 1000} s (the default); ${ctx.rate} updates/s, handlers ${ctx.handlerMs} ms, bursts of ${ctx.burst} (${(ctx.burst * ctx.handlerMs) / 1000} s batches)`,
);
console.log('');
console.log(table(results));
console.log('');
for (const r of results) console.log(details(r));
console.log(`\nresults: ${join('e2e', 'results', 'chaos.json')}; logs: ${dir}`);
process.exitCode = results.every((r) => r.pass) ? 0 : 1;
