// A picture of who polled when: one row per pod, a bar while its bot polled, red where nobody polled,
// orange where two did, grey for intended downtime. One panel per contender, stacked in one SVG.
import type { PollInterval } from '../../test/harness/timeline.ts';
import { gaps, overlap } from '../../test/harness/timeline.ts';

export interface Panel {
  title: string;
  subtitle: string;
  intervals: PollInterval[];
  start: number;
  end: number;
  downtime: Array<{ from: number; to: number }>;
  /** Instants worth a tick (rollouts, kills), with a label. */
  marks: Array<{ at: number; label: string }>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function timelineSvg(panels: Panel[], width = 1200): string {
  const left = 150;
  const right = 20;
  const row = 16;
  const out: string[] = [];
  let y = 10;
  for (const p of panels) {
    const names = [...new Set(p.intervals.map((i) => i.name))];
    const height = 44 + names.length * row + 36;
    const span = Math.max(1, p.end - p.start);
    const x = (t: number) => left + ((t - p.start) / span) * (width - left - right);
    out.push(`<g transform="translate(0,${y})">`);
    out.push(`<text x="10" y="16" font-size="14" font-weight="bold">${esc(p.title)}</text>`);
    out.push(`<text x="10" y="32" font-size="11" fill="#444">${esc(p.subtitle)}</text>`);
    const top = 40;
    const bottom = top + names.length * row;
    for (const d of p.downtime)
      out.push(
        `<rect x="${x(d.from)}" y="${top}" width="${Math.max(1, x(d.to) - x(d.from))}" height="${bottom - top}" fill="#ddd"><title>scaled to 0 (intended)</title></rect>`,
      );
    const covering = [...p.intervals, ...p.downtime.map((d) => ({ name: '', pid: 0, from: d.from, to: d.to, cut: false }))];
    const first = Math.min(...p.intervals.map((i) => i.from));
    for (const g of gaps(covering, first, p.end)) {
      out.push(
        `<rect x="${x(g.from)}" y="${top}" width="${Math.max(1.5, x(g.to) - x(g.from))}" height="${bottom - top}" fill="#e53935" opacity="0.55"><title>no poller for ${g.ms.toFixed(1)} ms</title></rect>`,
      );
    }
    names.forEach((n, idx) => {
      const ry = top + idx * row;
      out.push(`<text x="${left - 6}" y="${ry + 11}" font-size="10" text-anchor="end">${esc(n)}</text>`);
      for (const i of p.intervals.filter((v) => v.name === n)) {
        out.push(
          `<rect x="${x(i.from)}" y="${ry + 2}" width="${Math.max(1, x(i.to) - x(i.from))}" height="${row - 4}" fill="${i.cut ? '#6d4c41' : '#43a047'}"><title>${esc(n)} polled ${((i.to - i.from) / 1000).toFixed(2)} s${i.cut ? ' (killed)' : ''}</title></rect>`,
        );
      }
    });
    for (const [a, b, ms] of overlap(p.intervals).pairs) {
      const from = Math.max(a.from, b.from);
      out.push(
        `<rect x="${x(from)}" y="${top - 4}" width="${Math.max(2, x(from + ms) - x(from))}" height="${bottom - top + 8}" fill="none" stroke="#fb8c00" stroke-width="2"><title>two pollers for ${ms.toFixed(1)} ms</title></rect>`,
      );
    }
    p.marks.forEach((m, k) => {
      // Short labels ("rollout 3", "SIGKILL e2e-…"), staggered so neighbours do not overprint.
      const label = m.label.split(':')[0]!;
      const ly = bottom + 16 + (k % 2) * 10;
      out.push(
        `<line x1="${x(m.at)}" x2="${x(m.at)}" y1="${bottom}" y2="${ly - 8}" stroke="#333"/><text x="${x(m.at)}" y="${ly}" font-size="9" text-anchor="middle"><title>${esc(m.label)}</title>${esc(label)}</text>`,
      );
    });
    out.push(`<text x="${width - right}" y="${bottom + 16}" font-size="9" text-anchor="end">${((p.end - p.start) / 1000).toFixed(1)} s</text>`);
    out.push('</g>');
    y += height;
  }
  const legend = `<g transform="translate(10,${y})" font-size="10"><rect width="12" height="8" fill="#43a047"/><text x="16" y="8">polling</text><rect x="70" width="12" height="8" fill="#e53935" opacity="0.55"/><text x="86" y="8">nobody polling</text><rect x="170" width="12" height="8" fill="none" stroke="#fb8c00" stroke-width="2"/><text x="186" y="8">two polling</text><rect x="260" width="12" height="8" fill="#ddd"/><text x="276" y="8">scaled to 0</text><rect x="350" width="12" height="8" fill="#6d4c41"/><text x="366" y="8">killed</text></g>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 24}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${out.join('')}${legend}</svg>\n`;
}
