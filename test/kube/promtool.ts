// Finds promtool for the tests that check metrics output (and, later, alert rules). Building it with
// `go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0` fails: one of its dependencies
// (github.com/hashicorp/nomad/api at a pseudo-version) is refused by the Go module proxy (403). So we use
// the Debian package, whose promtool is older but checks the text format and lints names the same way.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Returns the path of promtool: $PROMTOOL, else /usr/bin/promtool, else `promtool` on the PATH. */
export function findPromtool(): string {
  const candidates = [process.env.PROMTOOL, '/usr/bin/promtool'];
  for (const candidate of candidates) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return 'promtool';
  } catch {
    throw new Error(
      'baton tests: promtool was not found. It comes with the Debian package `prometheus`:\n' +
        '  apt-get install --no-install-recommends prometheus\n' +
        '(in a container, /usr/sbin/policy-rc.d keeps the Prometheus service from starting), or set PROMTOOL=/path/to/promtool.',
    );
  }
}
