// The handoff timeline of an `npm run e2e:node` run read again from its folder of logs (the `logsDir` of each
// layout in e2e/results/node.json: the pods' `kubectl logs` and the double's ledger.json): one table per
// handoff and the medians, as the run printed them.
//
//   node e2e/node/timeline.ts DIR [DIR…]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonRecords } from './logs.ts';
import { readTimelines } from './scenario.ts';
import { gapPartsTable, mediansTable, stepMedians, timelineTable, type BotLogLine, type LedgerEntry } from '../report/handoff-timeline.ts';

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  process.stderr.write('usage: node e2e/node/timeline.ts DIR [DIR…] (a logsDir of e2e/results/node.json)\n');
  process.exit(2);
}
const all = dirs.flatMap((dir) => {
  const bots = jsonRecords(dir, 'bot').filter((l) => typeof l.mono === 'number' && typeof l.event === 'string') as unknown as BotLogLine[];
  const ledger = JSON.parse(readFileSync(join(dir, 'ledger.json'), 'utf8')) as LedgerEntry[];
  return readTimelines(jsonRecords(dir, 'baton'), bots, ledger);
});
for (const h of all) console.log(`${timelineTable(h)}\n`);
console.log(mediansTable(stepMedians(all), all.length));
console.log(`\n${gapPartsTable(all)}`);
const gaps = all.flatMap((h) => (h.gapMs === undefined ? [] : [h.gapMs])).sort((a, b) => a - b);
if (gaps.length)
  console.log(`\ngap (old polling-stop → new polling-start): median ${gaps[Math.ceil(gaps.length / 2) - 1]} ms, max ${gaps.at(-1)} ms over ${gaps.length}`);
