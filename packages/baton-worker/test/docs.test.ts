// Every example in docs/worker/ runs exactly as printed: the first code block of each page is written
// to a file and run (Node examples import the built baton-worker package by name), against the
// Telegram double and a stand-in sidecar that says "you lead". Each bot must answer a /start (or log
// the update), then pause on SIGUSR2 in milliseconds and confirm the pause.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TelegramDouble } from '../../../e2e/telegram/server.ts';
import { FakeSidecar, startCommand, KIT } from '../../../test/harness/fake-sidecar.ts';
import { waitFor } from '../../../test/harness/wait.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const snippets = join(root, '.cache', 'doc-snippets');
const token = '123:docs';

/** The first fenced block of `lang` in a docs/worker page, exactly as printed. */
export function firstBlock(page: string, lang: string): string {
  const text = readFileSync(join(root, 'docs', 'worker', page), 'utf8');
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)\\n```').exec(text);
  if (!m) throw new Error(`docs/worker/${page} has no \`\`\`${lang} block`);
  return `${m[1]}\n`;
}

let double: TelegramDouble;
let url: string;
beforeAll(async () => {
  // The examples import 'baton-worker' by name: the workspace link, built as it is published.
  execFileSync('npm', ['run', 'build', '-w', 'baton-worker'], { cwd: root, stdio: 'pipe' });
  mkdirSync(snippets, { recursive: true });
  double = new TelegramDouble();
  ({ url } = await double.start({ tokens: [token] }));
}, 120_000);
afterAll(async () => {
  await double.stop();
});

const cases = [
  { page: 'grammy.md', lang: 'ts', replies: true },
  { page: 'telegraf.md', lang: 'ts', replies: true },
  { page: 'node-telegram-bot-api.md', lang: 'ts', replies: true },
  { page: 'plain.md', lang: 'ts', replies: false },
  { page: 'python.md', lang: 'python', replies: false },
] as const;

describe.each(cases)('docs/worker/$page', ({ page, lang, replies }) => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('its example runs as printed: handles an update, pauses on SIGUSR2 and confirms', async () => {
    const file = join(snippets, page.replace(/\W+/g, '_') + (lang === 'ts' ? '.ts' : '.py'));
    writeFileSync(file, firstBlock(page, lang));
    const sidecar = new FakeSidecar();
    await sidecar.listen();
    double.resetLog();
    const client = page.replace(/\W+/g, '-');
    const [cmd, args] = lang === 'ts' ? [process.execPath, [file]] : ['python3', [file]];
    child = spawn(cmd, args, {
      env: { ...process.env, TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: `${url}/${client}`, BATON_URL: sidecar.url, PYTHONPATH: join(root, 'python') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitFor(`${page}: the bot polls`, () => double.hasParkedPoll({ token }), 20_000, KIT);
      const id = double.inject(startCommand(), { token })!;
      if (replies) await waitFor(`${page}: the bot answers /start`, () => double.sentMessages().some((m) => m.text === 'Hello!'), 15_000, KIT);
      else await waitFor(`${page}: the bot handles update ${id}`, () => out.includes(`update ${id}`), 15_000, KIT);
      // The pause: SIGUSR2, then a confirmation of the latest pause, in milliseconds (no 3 s same-offset park).
      sidecar.pause();
      const t0 = performance.now();
      child.kill('SIGUSR2');
      await waitFor(`${page}: the pause is confirmed`, () => sidecar.confirmations.includes(sidecar.pauseId), 10_000, KIT);
      const pauseMs = performance.now() - t0;
      console.log(`${page}: pause confirmed ${Math.round(pauseMs)} ms after SIGUSR2`);
      expect(pauseMs).toBeLessThan(1000);
      expect(double.requests().some((r) => r.type === 'start' && r.forcedTimeout)).toBe(false);
      expect(sidecar.confirmsHeaders.every((h) => h === '1')).toBe(true);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- output of ${page} ---\n${out}`, { cause: err });
    } finally {
      child.kill('SIGKILL');
      await sidecar.close();
    }
  }, 60_000);
});
