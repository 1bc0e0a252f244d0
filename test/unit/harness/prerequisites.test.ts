// Every program the tests, the real node and the e2e scripts start from outside npm and Go is declared in ONE
// list (scripts/prerequisites.sh), in the group of the command that needs it, so a fresh machine gets it
// installed before anything runs. Judged from the code, not from this machine: other programs may be
// installed here, and a green run on a machine that already has them proves nothing (issue 19: buildah).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePrerequisites, scanTypeScript, shellPrograms, type SpawnSite, type Wrapper } from './spawned-programs.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const SCANNED = ['test', 'e2e', 'scripts', 'bench', '.ci', 'packages/baton-worker/test'];
/** This test and its scanner start nothing; their fixtures would read as calls. */
const NOT_SCANNED = ['test/unit/harness/prerequisites.test.ts', 'test/unit/harness/spawned-programs.ts'];

/** Functions that hand their first argument on as the program to start. */
const WRAPPERS: Wrapper[] = [
  { name: 'run', files: /^test\/node\// }, // test/node/host.ts: execFileSync(cmd, args)
  { name: 'tryRun', files: /^test\/node\// }, // test/node/host.ts: run(cmd, args) or undefined
  { name: 'tool', files: /^test\/integration\/image\/size\.test\.ts$/ }, // a system tool by absolute path
];

/** Programs the project builds itself from Go modules (test/kube/binaries.ts, test/node): not from Debian. */
const BUILT = ['kube-apiserver', 'etcd', 'kine', 'kubectl', 'helm', 'kubelet', 'kube-controller-manager', 'kube-scheduler', 'client-go-peer', 'actionlint'];

/**
 * Calls whose program is an expression, with the programs it can be and why. A new one fails the test
 * until it is written down here: a program passed through a variable is never waved through.
 */
const EXPLAINED: { file: string; expression: string; programs: string[]; why: string }[] = [
  { file: 'test/node/host.ts', expression: 'cmd', programs: [], why: 'the wrappers run/tryRun: their callers are scanned (WRAPPERS)' },
  { file: 'test/node/host.ts', expression: 'bin', programs: ['iptables', 'ip6tables'], why: 'const IPTABLES' },
  {
    file: 'test/integration/image/size.test.ts',
    expression: 'cmd[0]!',
    programs: ['chroot', 'unshare'],
    why: "tool('chroot') or tool('unshare') (scanned as WRAPPERS)",
  },
  {
    file: 'test/node/node.ts',
    expression: '`command -v ${bin}`',
    programs: ['containerd', 'containerd-shim-runc-v2', 'runc', 'ctr', 'buildah', 'iptables', 'ip', 'openssl'],
    why: 'checkHost() looks each of its list up',
  },
  {
    file: 'test/node/node.ts',
    expression: 'bin',
    programs: ['containerd', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'],
    why: 'spawnDaemon(): containerd from `command -v containerd`, the rest built by ensureNodeBinaries()',
  },
  { file: 'test/node/node.ts', expression: 'this.bins.kubectl', programs: ['kubectl'], why: 'built by ensureNodeBinaries()' },
  { file: 'test/node/images.ts', expression: 'bb', programs: ['busybox'], why: '`command -v busybox`' },
  { file: 'test/node/images.ts', expression: 'nodeBinary()', programs: ['node'], why: 'node_modules/node/bin/node (npm ci)' },
  { file: 'e2e/node/logs.ts', expression: 'this.o.kubectl', programs: ['kubectl'], why: 'built by ensureNodeBinaries()' },
  { file: 'test/kube/apiserver.ts', expression: 'bin', programs: ['kube-apiserver', 'etcd', 'kine'], why: 'built by ensureKubeBinaries() and ensureKine()' },
  { file: 'test/kube/helm.ts', expression: 'bin', programs: ['helm'], why: 'built by ensureGoTool()' },
  { file: 'scripts/lint-ci.ts', expression: 'bin', programs: ['actionlint'], why: 'built by ensureActionlint() (ensureGoTool())' },
  { file: 'test/kube/binaries.ts', expression: 'candidate', programs: ['go'], why: 'findGo(): $GO, go, /usr/local/go/bin/go' },
  { file: 'test/kube/binaries.ts', expression: 'go', programs: ['go'], why: 'findGo()' },
  {
    file: 'test/harness/sim-pod.ts',
    expression: 'command',
    programs: ['node', 'python3', 'setpriv', 'qemu-aarch64-static'],
    why: 'the sidecar (process.execPath, or a sidecarCommand: the arm64 image under qemu-user), the worker (node or python3), each behind an optional runAs prefix (setpriv)',
  },
  {
    file: 'test/harness/sim-pod.ts',
    expression: 'agent.command',
    programs: ['client-go-peer', 'node'],
    why: 'e2e/peers: the client-go peer built from Go, the Postgres peers on node',
  },
  { file: 'test/harness/postgres.ts', expression: 'initdbArgs[0]!', programs: ['/usr/lib/postgresql/*/bin/initdb'], why: "Debian's postgresql" },
  { file: 'test/harness/postgres.ts', expression: "join(bin, 'postgres')", programs: ['/usr/lib/postgresql/*/bin/postgres'], why: "Debian's postgresql" },
  { file: 'test/integration/chart/helm.test.ts', expression: 'findPromtool()', programs: ['promtool'], why: 'test/kube/promtool.ts' },
  { file: 'test/integration/sidecar/metrics-promtool.test.ts', expression: 'findPromtool()', programs: ['promtool'], why: 'test/kube/promtool.ts' },
  { file: 'test/integration/release/package-pack.test.ts', expression: 'node', programs: ['node'], why: 'node_modules/.bin/node (npm ci)' },
  {
    file: 'packages/baton-worker/test/package.test.ts',
    expression: 'bin',
    programs: ['/usr/bin/node'],
    why: "systemNode20(): the machine's own Node 20 (Debian's nodejs)",
  },
  {
    file: 'packages/baton-worker/test/package.test.ts',
    expression: 'node',
    programs: ['node', '/usr/bin/node'],
    why: "nodeBin(): Node 24 from npm, or the machine's Node 20",
  },
  {
    file: 'test/integration/worker-kit/pod-freeze.test.ts',
    expression: "kind === 'python' ? 'python3' : process.execPath",
    programs: ['python3', 'node'],
    why: 'the sample bot on python3 or on this Node',
  },
  { file: 'packages/baton-worker/test/docs.test.ts', expression: 'cmd', programs: ['node', 'python3'], why: 'process.execPath or python3' },
  {
    file: 'test/harness/previous-release.ts',
    expression: 'command',
    programs: ['sh', 'git', 'tar', 'npm', 'node'],
    why: 'run(): git archive | tar under sh, git, npm ci, this Node',
  },
];

/** Which groups of scripts/prerequisites.sh a file's programs must be in. */
function groupsOf(file: string): string[] {
  if (/^(test\/node|e2e\/node)\//.test(file) || /^scripts\/node-(up|down)\.ts$/.test(file)) return ['node'];
  if (file.startsWith('e2e/kind/')) return ['kind'];
  // The list's own script and CI run for both commands.
  if (file === 'scripts/prerequisites.sh' || file === '.ci/run') return ['tests', 'node'];
  return ['tests'];
}

function files(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'results') return [];
    return statSync(join(root, p)).isDirectory() ? files(p) : [p];
  });
}

const isShell = (file: string, text: string) => file.endsWith('.sh') || /^#!\/(usr\/bin\/env |bin\/)(ba)?sh\b/.test(text);

/** Every program the scanned code starts, with the calls no rule explains. */
function scanRepository(): { spawns: SpawnSite[]; unexplained: string[] } {
  const spawns: SpawnSite[] = [];
  const unexplained: string[] = [];
  for (const file of SCANNED.flatMap(files)
    .map((f) => relative(root, join(root, f)))
    .filter((f) => !NOT_SCANNED.includes(f))) {
    const text = read(file);
    if (/\.(ts|mjs|js)$/.test(file)) {
      const r = scanTypeScript(file, text, WRAPPERS);
      spawns.push(...r.spawns);
      for (const u of r.unresolved) {
        const rule = EXPLAINED.find((e) => e.file === file && e.expression === u.expression);
        if (rule) spawns.push(...rule.programs.map((program) => ({ file, line: u.line, program })));
        else unexplained.push(`${file}:${u.line} starts \`${u.expression}\``);
      }
    } else if (isShell(file, text)) {
      spawns.push(...shellPrograms(text).map((program) => ({ file, line: 0, program })));
    }
  }
  return { spawns, unexplained };
}

/** `file:line program` for each program not declared in the groups its file needs. */
function undeclared(spawns: SpawnSite[], list = parsePrerequisites(read('scripts/prerequisites.sh'))): string[] {
  const out = new Set<string>();
  for (const s of spawns) {
    if (BUILT.includes(s.program)) continue;
    for (const g of groupsOf(s.file)) {
      if (!list.some((p) => p.program === s.program && p.groups.includes(g))) out.add(`${s.program} (group ${g}, ${s.file}${s.line ? `:${s.line}` : ''})`);
    }
  }
  return [...out].sort();
}

describe('the programs the tests start (scripts/prerequisites.sh)', () => {
  it('every program the code starts is declared in the group of the command that runs that code', () => {
    const { spawns, unexplained } = scanRepository();
    expect(unexplained, 'a program passed through an expression: explain it in EXPLAINED').toEqual([]);
    expect(undeclared(spawns), 'add these to TABLE in scripts/prerequisites.sh (with the Debian package)').toEqual([]);
  });

  it('finds a new spawn of an undeclared program, literal, through a shell or through a variable', () => {
    const ts = [
      "import { spawn, execFileSync } from 'node:child_process';",
      "spawn('frobnicate', ['--now']);",
      "execFileSync('sh', ['-c', 'command -v x >/dev/null && zorch --all 2>&1'], { stdio: 'ignore' });",
      'spawn(whatever, []);',
    ].join('\n');
    const r = scanTypeScript('test/integration/new.test.ts', ts);
    expect(undeclared(r.spawns)).toEqual(['frobnicate (group tests, test/integration/new.test.ts:2)', 'zorch (group tests, test/integration/new.test.ts:3)']);
    expect(r.unresolved).toEqual([{ file: 'test/integration/new.test.ts', line: 4, expression: 'whatever' }]);
    // The same program in a real-node file must be in the node group: buildah was declared, but for the wrong command.
    expect(undeclared([{ file: 'test/node/images.ts', line: 1, program: 'shellcheck' }])).toEqual(['shellcheck (group node, test/node/images.ts:1)']);
  });

  it('reads shell scripts: commands, pipelines, substitutions, function bodies; not builtins, strings or values', () => {
    const script = [
      '#!/usr/bin/env bash',
      'set -euo pipefail',
      'ROOT="$(cd "$(dirname "$0")" && pwd)"',
      'log() { printf \'%s\\n\' "$*" >&2; }',
      'for tool in docker kind; do command -v "$tool" >/dev/null 2>&1 || log "missing"; done',
      'need+=(containerd)',
      'case "$1" in',
      '  a | b) frob --x ;;',
      'esac',
      'if ! grep -q x /etc/hosts; then kc get pods | tail -n 3; fi',
      'kc() { kubectl --context "${CTX:-x}" "$@"; }',
      "echo 'sed -n 1p'  # a quoted word is not a command",
    ].join('\n');
    expect(shellPrograms(script).sort()).toEqual(['dirname', 'frob', 'grep', 'kubectl', 'tail']);
  });

  it('declares each program once, with a known source and known groups', () => {
    const list = parsePrerequisites(read('scripts/prerequisites.sh'));
    expect(list.length).toBeGreaterThan(20);
    for (const p of list) {
      expect(p.source, p.program).toMatch(/^(apt:[a-z0-9.+-]+|node|url:https:\/\/\S+)$/);
      for (const g of p.groups) expect(['tests', 'node', 'kind'], p.program).toContain(g);
    }
    expect(new Set(list.map((p) => p.program)).size).toBe(list.length);
    // What the project builds is not installed from elsewhere, and every name in BUILT is built.
    for (const b of BUILT)
      expect(
        list.map((p) => p.program).filter((p) => p !== 'kubectl' && p !== 'helm'),
        b,
      ).not.toContain(b);
    const builders = read('test/kube/binaries.ts') + read('test/node/node.ts') + read('e2e/peers/client-go.ts') + read('scripts/lint-ci.ts');
    for (const b of BUILT) expect(builders, b).toContain(b === 'client-go-peer' ? 'client-go' : b);
  });

  it("npm test and npm run test:node install their group before anything else; CI runs the README's command and the node", () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.test).toMatch(/^bash scripts\/prerequisites\.sh tests && /);
    expect(scripts['test:node']).toMatch(/^bash scripts\/prerequisites\.sh node && /);
    // npm test leaves the host alone: the real node runs only in test:node. The kine projects are the
    // integration files that also run on k3s's datastore (vitest.config.ts).
    expect(scripts.test).toMatch(/vitest run --project unit --project integration --project kine-watch-cache --project kine-no-watch-cache$/);
    expect(scripts['test:node']).toMatch(/vitest run --project node$/);
    const readmeCommand = /^`(npm ci && npm test)`/m.exec(read('README.md'))?.[1];
    expect(readmeCommand).toBe('npm ci && npm test');
    expect(read('.ci/run')).toMatch(/^npm ci && npm test && npm run test:node$/m);
    expect(read('README.md')).not.toMatch(/\.\.\/shared|ci-local/);
  });
});
