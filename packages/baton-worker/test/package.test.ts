// The kit installs on its own: `npm pack` it, install the tarball into an empty project (no registry:
// it has no dependencies) with the machine's own Node 20 and with Node 24, import every export by
// name, and run a bot from it against the Telegram double and a stand-in sidecar.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TelegramDouble } from '../../../e2e/telegram/server.ts';
import { FakeSidecar, KIT } from '../../../test/harness/fake-sidecar.ts';
import { waitFor } from '../../../test/harness/wait.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const pkgDir = join(root, 'packages', 'baton-worker');
const token = '123:pack';

/**
 * Every runtime export of the package, by name: the public surface and nothing else (the local API client,
 * the real clock and the other internals are not exported; etc/baton-worker.api.md holds the types too).
 */
const EXPORTS = ['BotApiError', 'Leadership', 'UpdatePoller', 'grammyUnderBaton', 'leadership', 'ntbaUnderBaton', 'runUnderBaton', 'telegrafUnderBaton'].sort();

/** The machine's own Node 20 (the first `node` on PATH outside node_modules/.bin). */
function systemNode20(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir.includes('node_modules')) continue;
    const bin = join(dir, 'node');
    if (!existsSync(bin)) continue;
    const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
    if (version.startsWith('v20.')) return bin;
  }
  throw new Error("no Node 20 on PATH outside node_modules: the clean-directory test needs the machine's own Node 20 (/usr/bin/node)");
}

/** npm's CLI script, run with the Node under test. */
function npmCli(): string {
  const npm = execFileSync('bash', ['-c', 'readlink -f "$(command -v npm)"'], {
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: (process.env.PATH ?? '')
        .split(delimiter)
        .filter((d) => !d.includes('node_modules'))
        .join(delimiter),
    },
  }).trim();
  if (!npm.endsWith('.js')) throw new Error(`npm at ${npm} is not its CLI script`);
  return npm;
}

const SMOKE = `
import * as kit from 'baton-worker';
const names = Object.keys(kit).sort();
console.log('exports ' + JSON.stringify(names));
for (const n of names) if (kit[n] === undefined) throw new Error('export ' + n + ' is undefined');
const poller = new kit.UpdatePoller({
  token: process.env.TELEGRAM_BOT_TOKEN,
  apiRoot: process.env.TELEGRAM_API_ROOT,
  handle: (u) => console.log('update ' + u.update_id),
});
const lead = kit.leadership({ start: () => poller.start(), pause: () => poller.stop() });
lead.on('started', () => console.log('polling on node ' + process.version));
lead.on('confirmed', (c) => console.log('confirmed ' + c.pause + ' ' + c.result));
await lead.ready;
`;

let tarball: string;
let work: string;
let double: TelegramDouble;
let url: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'baton-worker-pack-'));
  // prepack builds dist/ with tsc.
  const out = execFileSync('npm', ['pack', '--pack-destination', work, '--json'], { cwd: pkgDir, encoding: 'utf8' });
  const [info] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, info!.filename);
  expect(info!.files.map((f) => f.path)).toContain('dist/index.d.ts');
  double = new TelegramDouble();
  ({ url } = await double.start({ tokens: [token] }));
}, 120_000);
afterAll(async () => {
  await double.stop();
  rmSync(work, { recursive: true, force: true });
});

describe.each([
  ["Node 20 (the machine's own)", systemNode20],
  ['Node 24', () => process.execPath],
] as const)('baton-worker from its tarball on %s', (_label, nodeBin) => {
  it('installs into an empty project with no dependencies, exports everything, and runs a bot', async () => {
    const node = nodeBin();
    const project = mkdtempSync(join(work, 'project-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'clean', private: true, type: 'module' }));
    execFileSync(node, [npmCli(), 'install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: project, stdio: 'pipe' });
    // Nothing but the kit itself was installed.
    expect(readdirSync(join(project, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['baton-worker']);
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules', 'baton-worker', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.dependencies).toBeUndefined();
    writeFileSync(join(project, 'bot.mjs'), SMOKE);

    const sidecar = new FakeSidecar();
    await sidecar.listen();
    double.resetLog();
    const child = spawn(node, ['bot.mjs'], {
      cwd: project,
      env: { PATH: process.env.PATH, TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: `${url}/clean`, BATON_URL: sidecar.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitFor('the bot polls', () => out.includes('polling on node') && double.hasParkedPoll({ token }), 20_000, KIT);
      expect(out).toContain(`exports ${JSON.stringify(EXPORTS)}`);
      expect(out).toContain(`polling on node v${execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()}`);
      const id = double.inject('hello', { token })!;
      await waitFor(`update ${id} handled`, () => out.includes(`update ${id}`), 15_000, KIT);
      sidecar.pause();
      child.kill('SIGUSR2');
      await waitFor('the pause is confirmed', () => out.includes(`confirmed ${sidecar.pauseId} accepted`), 5000, KIT);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- bot output ---\n${out}`, { cause: err });
    } finally {
      child.kill('SIGKILL');
      await sidecar.close();
    }
  }, 120_000);
});
