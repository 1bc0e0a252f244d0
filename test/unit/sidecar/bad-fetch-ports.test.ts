// Issue 14, finding 1: baton listened happily on 127.0.0.1:4190, a Fetch "bad port", where the worker kit
// (which talks to the local API with Node's fetch) could not reach GET /leader or POST /paused. These
// tests keep baton's list equal to fetch's own and check that config, CLI and chart refuse such ports.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { BAD_FETCH_PORTS } from '../../../src/host-port.ts';
import { sleep } from '../../harness/wait.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(root, 'src', 'cli.ts');
const sorted = [...BAD_FETCH_PORTS].sort((a, b) => a - b);

/** What Node's own fetch (the worker kit's client) does with `http://127.0.0.1:PORT/`, without any network traffic. */
async function nodeFetchVerdict(port: number): Promise<'bad port' | 'would connect'> {
  // A dispatcher that refuses everything: fetch reaches it only for a port it does not block.
  const dispatcher = {
    dispatch() {
      throw new Error('would connect');
    },
  };
  try {
    await fetch(`http://127.0.0.1:${port}/`, { dispatcher } as unknown as RequestInit);
  } catch (err) {
    const cause = (err as { cause?: Error }).cause?.message;
    if (cause === 'bad port' || cause === 'would connect') return cause;
    throw err;
  }
  throw new Error('the refusing dispatcher answered');
}

describe('the Fetch "bad ports"', () => {
  it("match the list of the installed undici (the fetch implementation Node's fetch is built from)", () => {
    const require = createRequire(join(root, 'package.json'));
    const { badPorts } = require('undici/lib/web/fetch/constants.js') as { badPorts: readonly string[] };
    expect(sorted).toEqual(badPorts.map(Number).sort((a, b) => a - b));
  });

  it("are exactly what Node's own fetch refuses, and its neighbours are not", async () => {
    for (const port of sorted) expect(await nodeFetchVerdict(port), `port ${port}`).toBe('bad port');
    const neighbours = [...new Set(sorted.flatMap((p) => [p - 1, p + 1]))].filter((p) => p > 0 && !BAD_FETCH_PORTS.has(p));
    for (const port of [...neighbours, 4040, 4041, 65535]) expect(await nodeFetchVerdict(port), `port ${port}`).toBe('would connect');
  });
});

describe('config refuses a bad port in either listen address', () => {
  const base = { BATON_LEASE_NAME: 'my-bot', POD_NAMESPACE: 'bots', BATON_TARGET_COMMAND: 'bot' };
  const problem = (env: Record<string, string>): string => {
    try {
      loadConfig({ argv: [], env: { ...base, ...env }, readNamespaceFile: () => undefined, hostname: () => 'h' });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it.each([
    ['BATON_LISTEN', '127.0.0.1:4190', '4040'],
    ['BATON_LISTEN', '[::1]:6000', '4040'],
    ['BATON_LISTEN', 'localhost:10080', '4040'],
    ['BATON_PROBE_LISTEN', '0.0.0.0:6000', '4041'],
    ['BATON_PROBE_LISTEN', '[::]:4190', '4041'],
  ])('%s=%s', (name, value, fix) => {
    const port = value.slice(value.lastIndexOf(':') + 1);
    expect(problem({ [name]: value })).toBe(
      `${name}=${value} uses port ${port}, a "bad port" of the Fetch standard that Node's fetch (the worker kit's client) and browsers refuse to connect to: choose another port, e.g. ${fix}`,
    );
  });

  it('accepts the neighbours of bad ports', () => {
    expect(loadConfig({ argv: [], env: { ...base, BATON_LISTEN: '127.0.0.1:4191', BATON_PROBE_LISTEN: '0.0.0.0:5999' } }).listen.port).toBe(4191);
  });
});

describe('the sidecar on 127.0.0.1:4190 (regression of the soak finding)', () => {
  it('exits 2 with one line naming the port, why, and the fix, instead of serving an API the worker kit cannot reach', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-badport-'));
    const kubeconfig = join(dir, 'kubeconfig');
    // An API server nobody answers on: baton starts its servers before it ever reaches the API.
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]',
        'users: [{name: u, user: {token: x}}]',
        'contexts: [{name: c, context: {cluster: c, user: u, namespace: bots}}]',
        'current-context: c',
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [CLI], {
      env: {
        PATH: process.env.PATH ?? '',
        KUBECONFIG: kubeconfig,
        BATON_LEASE_NAME: 'my-bot',
        BATON_TARGET_COMMAND: 'no-such-worker',
        BATON_LISTEN: '127.0.0.1:4190',
        BATON_PROBE_LISTEN: '127.0.0.1:0',
        BATON_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const done = () => child.exitCode !== null || child.signalCode !== null;
      const outcome = await Promise.race([exited.then((code) => ({ code })), serving('http://127.0.0.1:4190/leader', 15_000, done)]);
      if (outcome && !('code' in outcome)) {
        // What the soak saw: the local API answers node:http, but fetch refuses the port outright.
        const viaFetch = await fetch('http://127.0.0.1:4190/leader').then(
          (r) => `HTTP ${r.status}`,
          (err: Error) => `failed: ${(err.cause as Error | undefined)?.message ?? err.message}`,
        );
        expect.fail(`baton started on 127.0.0.1:4190: GET /leader answers HTTP ${outcome.status} over node:http, but the worker kit's fetch ${viaFetch}`);
      }
      expect(outcome?.code).toBe(2);
      expect(stderr).toBe(
        `baton: BATON_LISTEN=127.0.0.1:4190 uses port 4190, a "bad port" of the Fetch standard that Node's fetch (the worker kit's client) and browsers refuse to connect to: choose another port, e.g. 4040\n`,
      );
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  }, 30_000);
});

describe('the chart refuses bad ports', () => {
  const schema = JSON.parse(readFileSync(join(root, 'charts/baton/values.schema.json'), 'utf8')) as {
    properties: { sidecar: { properties: Record<string, { not?: { pattern?: string; enum?: number[] } }> } };
  };
  const sidecar = schema.properties.sidecar.properties;

  it('in values.schema.json: sidecar.probePort and the port of sidecar.listen', () => {
    expect([...sidecar.probePort!.not!.enum!].sort((a, b) => a - b)).toEqual(sorted);
    const listen = new RegExp(sidecar.listen!.not!.pattern!);
    const wrong: number[] = [];
    for (let port = 1; port <= 65535; port++) if (listen.test(`127.0.0.1:${port}`) !== BAD_FETCH_PORTS.has(port)) wrong.push(port);
    expect(wrong).toEqual([]);
    expect(listen.test('127.0.0.1:04190')).toBe(true);
  });

  it('in the template check (baton.validate), for installs that skip the schema', () => {
    const tpl = readFileSync(join(root, 'charts/baton/templates/_helpers.tpl'), 'utf8');
    const list = /\$badPorts := list ([\d ]+) -\}\}/.exec(tpl)?.[1];
    expect(list?.split(' ').map(Number)).toEqual(sorted);
  });
});

/** Resolves with the status once `url` answers over node:http (not fetch), polling until `ms` has passed or `stop()`. */
async function serving(url: string, ms: number, stop: () => boolean): Promise<{ status: number } | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (stop()) return undefined;
    const status = await new Promise<number | undefined>((resolve) => {
      get(url, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).once('error', () => resolve(undefined));
    });
    if (status !== undefined) return { status };
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms} ms`);
    await sleep(100);
  }
}
