// Finds the programs code starts: in TypeScript, the first argument of child_process calls (and of the small
// wrappers around them), in shell scripts, the first word of every simple command. A program that cannot be
// read from the code (a variable) is reported as unresolved, so the caller must explain it, never skip it.

/** One program started at `file:line`. */
export interface SpawnSite {
  file: string;
  line: number;
  program: string;
}

/** A call whose program is an expression the scanner cannot read; it must be explained by a rule. */
export interface UnresolvedSite {
  file: string;
  line: number;
  expression: string;
}

/** A function that passes its first argument on as the program (`run('iptables', …)` → iptables). */
export interface Wrapper {
  name: string;
  /** Files whose calls of `name` are wrapper calls. */
  files: RegExp;
}

export interface ScanResult {
  spawns: SpawnSite[];
  unresolved: UnresolvedSite[];
}

const CHILD_PROCESS_CALLS = ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync'];

/** The programs a TypeScript/JavaScript file starts. */
export function scanTypeScript(file: string, text: string, wrappers: Wrapper[] = []): ScanResult {
  const names = text.includes('child_process') ? [...CHILD_PROCESS_CALLS] : [];
  for (const w of wrappers) if (w.files.test(file)) names.push(w.name);
  const out: ScanResult = { spawns: [], unresolved: [] };
  if (names.length === 0) return out;
  // A call, not a method (`re.exec(`) and not the definition of a wrapper (`function run(`).
  const call = new RegExp(`(?<![.\\w])(?<!function )(${names.join('|')})\\(`, 'g');
  for (const m of text.matchAll(call)) {
    const start = m.index + m[0].length;
    const line = lineOf(text, m.index);
    const args = splitArgs(text, start, 2);
    const first = args[0]?.trim() ?? '';
    if (first === '') continue; // `exec()` with no program is not a child_process call
    const program = literal(first) ?? (first === 'process.execPath' ? 'node' : undefined);
    if (program === undefined) {
      out.unresolved.push({ file, line, expression: first });
      continue;
    }
    out.spawns.push({ file, line, program });
    // `sh -c '…'`: the shell starts the programs of its command line too.
    const rest = args[1]?.trim() ?? '';
    if ((program === 'sh' || program === 'bash') && /^\[\s*['"]-c['"]\s*,/.test(rest)) {
      const script =
        splitArgs(rest, rest.indexOf(',') + 1, 1)[0]
          ?.trim()
          .replace(/\]$/, '')
          .trim() ?? '';
      const body = literal(script);
      if (body === undefined) out.unresolved.push({ file, line, expression: script });
      else for (const p of shellPrograms(body)) out.spawns.push({ file, line, program: p });
    }
  }
  return out;
}

/** The value of a string literal without interpolation, else undefined. */
function literal(expr: string): string | undefined {
  const m = /^'([^']*)'$|^"([^"]*)"$|^`([^`]*)`$/.exec(expr);
  if (!m) return undefined;
  if (m[3]?.includes('${')) return undefined;
  return m[1] ?? m[2] ?? m[3];
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** The first `count` arguments of a call whose argument list starts at `start` (brackets and strings balanced). */
function splitArgs(text: string, start: number, count: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = start; i < text.length && args.length < count; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      current += text.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) {
        args.push(current);
        return args;
      }
      depth--;
    }
    if (c === ',' && depth === 0) {
      args.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  if (args.length < count && current.trim()) args.push(current);
  return args;
}

const LEADING_WORDS = new Set(['if', 'then', 'else', 'elif', 'while', 'until', 'do', '!', 'exec', 'time']);
const SHELL_WORDS = new Set([
  // keywords
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'for',
  'while',
  'until',
  'do',
  'done',
  'case',
  'esac',
  'in',
  'function',
  'select',
  'time',
  '!',
  '[[',
  ']]',
  // builtins (bash and POSIX sh): not programs
  'echo',
  'printf',
  'cd',
  'set',
  'export',
  'local',
  'readonly',
  'declare',
  'return',
  'exit',
  'trap',
  'shift',
  'read',
  'wait',
  'break',
  'continue',
  'source',
  '.',
  'eval',
  'test',
  '[',
  'true',
  'false',
  ':',
  'compgen',
  'unset',
  'type',
  'hash',
  'getopts',
  'let',
  'pwd',
  'kill',
  'umask',
  'ulimit',
  'mapfile',
  'readarray',
  'shopt',
]);

/** The programs a shell script (or a `sh -c` command line) starts: the first word of each simple command. */
export function shellPrograms(script: string): string[] {
  const text = unquote(script.replace(/\\\n/g, ' '))
    // `${…}` and `$((…))` are values, and `2>&1` a redirection: none may split a command.
    .replace(/\$\{[^}]*\}/g, '$V')
    .replace(/\b\w+\+?=\([^)]*\)/g, 'A=V') // an array assignment: `need+=(containerd)` names a package, not a program
    .replace(/\$\(\([^)]*\)\)/g, '$V')
    .replace(/\d*[<>]&\d+|&>/g, ' ');
  const functions = new Set([...text.matchAll(/^\s*(?:function\s+)?([\w-]+)\s*\(\)\s*\{?/gm)].map((m) => m[1]!));
  const out: string[] = [];
  for (let line of text.split('\n')) {
    // A case label (`a | b)`) is not a command; what follows it on the line is.
    line = line.replace(/^\s*\(?[^\s()]+(?:\s*\|\s*[^\s()]+)*\)(?=\s|$)/, '');
    for (const piece of line.split(/&&|\|\||[;|&(){}`\n]/)) {
      const words = piece.trim().split(/\s+/).filter(Boolean);
      // Assignments, redirections and the words that only introduce a command (`if`, `while`, `!`…).
      while (words.length && (/^\w+(\[[^\]]*\])?\+?=/.test(words[0]!) || /^\d*[<>]/.test(words[0]!) || LEADING_WORDS.has(words[0]!))) words.shift();
      const w = words[0];
      if (!w || SHELL_WORDS.has(w) || functions.has(w)) continue;
      if (w === 'command' && words[1] !== '-v' && words[1]) {
        out.push(words[1]);
        continue;
      }
      if (w === 'command' || w.startsWith('$') || w === 'S') continue; // `command -v x` only asks; `$x`, a quoted word: not a name
      if (/^[A-Za-z_./][\w./+-]*$/.test(w)) out.push(w);
    }
  }
  return out;
}

/**
 * The script with its quoting resolved for the command scan: a single- or double-quoted word becomes `S`,
 * comments go, and a command substitution inside double quotes becomes a command of its own (`;…;`).
 */
function unquote(s: string): string {
  let out = '';
  let i = 0;
  const stack: ('dq' | 'sub')[] = [];
  const top = () => stack[stack.length - 1];
  while (i < s.length) {
    const c = s[i]!;
    if (top() === 'dq') {
      if (c === '\\') i += 2;
      else if (c === '"') {
        stack.pop();
        out += 'S';
        i++;
      } else if (s.startsWith('$(', i)) {
        stack.push('sub');
        out += ';';
        i += 2;
      } else i++;
      continue;
    }
    if (c === '\\') {
      out += s.slice(i, i + 2);
      i += 2;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      out += 'S';
      i = end < 0 ? s.length : end + 1;
    } else if (c === '"') {
      stack.push('dq');
      i++;
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) {
      const end = s.indexOf('\n', i);
      i = end < 0 ? s.length : end;
    } else if (top() === 'sub' && c === ')') {
      stack.pop();
      out += ';';
      i++;
    } else if (top() === 'sub' && c === '(') {
      stack.push('sub');
      out += c;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** One row of the declared list in scripts/prerequisites.sh. */
export interface Prerequisite {
  program: string;
  source: string;
  groups: string[];
}

/** The declared list: the `TABLE='…'` rows of scripts/prerequisites.sh. */
export function parsePrerequisites(script: string): Prerequisite[] {
  const table = /^TABLE='\n([\s\S]*?)\n'$/m.exec(script)?.[1];
  if (table === undefined) throw new Error("scripts/prerequisites.sh has no TABLE='…' block");
  return table
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [program, source, groups] = l.trim().split(/\s+/);
      if (!program || !source || !groups) throw new Error(`scripts/prerequisites.sh: a row needs program, source and groups: "${l}"`);
      return { program, source, groups: groups.split(',') };
    });
}
