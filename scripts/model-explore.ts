// Explores the election model with fresh random seeds: `npm run model:explore -- N [runs]` runs the model
// tests (test/unit/election/model.test.ts, short and long sequences) once per seed, N seeds, each with
// BATON_MODEL_RUNS=runs (default 8000: 8000 short + 2000 long sequences), and prints every seed with its
// sequences, time and verdict, then the totals. `npm test` keeps a fixed seed; this is how new
// counterexamples are found (replay one with BATON_MODEL_SEED=<seed>; keep it as a regression test).
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

const seeds = Number(process.argv[2] ?? 10);
const runs = Number(process.argv[3] ?? 8000);
if (!(Number.isInteger(seeds) && seeds > 0 && Number.isInteger(runs) && runs > 0)) {
  console.error('usage: npm run model:explore -- <seeds> [runs per seed]');
  process.exit(2);
}
/** Sequences one seed runs: the short property `runs` times, the long one a quarter as many (as the test file does). */
const perSeed = runs + Math.ceil(runs / 4);
const failed: number[] = [];
let sequences = 0;
const started = performance.now();
for (let i = 1; i <= seeds; i++) {
  const seed = randomInt(-(2 ** 31), 2 ** 31);
  const t0 = performance.now();
  const r = spawnSync('npx', ['vitest', 'run', 'test/unit/election/model.test.ts', '-t', 'sequences'], {
    env: { ...process.env, BATON_MODEL_SEED: String(seed), BATON_MODEL_RUNS: String(runs) },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (performance.now() - t0) / 1000;
  const ok = r.status === 0;
  if (ok) sequences += perSeed;
  else failed.push(seed);
  console.log(`seed ${seed}: ${ok ? 'pass' : 'FAIL'} ${ok ? perSeed : '-'} sequences in ${seconds.toFixed(1)} s (${i}/${seeds})`);
  if (!ok)
    console.log(
      (r.stdout + r.stderr)
        .split('\n')
        .filter((l) => /seed:|Counterexample|t=\d+ /.test(l))
        .join('\n'),
    );
}
const total = (performance.now() - started) / 1000;
console.log(
  `${seeds} seeds, ${sequences} sequences passed, ${failed.length} failed${failed.length ? ` (seeds ${failed.join(', ')})` : ''}, in ${total.toFixed(0)} s`,
);
process.exit(failed.length ? 1 : 0);
