// Where a graceful handoff's time goes, step by step, from the processes' own logs and the Telegram double's
// ledger (issue 20): the old pod's sidecar (SIGTERM or its Pod's deletion, the pause signal, POST /paused, the
// release), the old bot (the signal, its batch, its offset confirmed, the pause done), the new pod's sidecar (the
// watch event, the acquire, the start signal), the new bot (the signal, polling started) and the double (the
// old bot's confirming getUpdates, the new bot's first getUpdates). The pods' processes and the double share
// the host's clock: every instant is in ms since the epoch (the bots and the double log
// performance.timeOrigin + now(), the sidecar pino's ISO time, 1 ms resolution).
import { percentile } from './figures.ts';

/** A sidecar log line (pino JSON: `time` ISO 8601, `identity` the pod, `event` and its fields). */
export interface SidecarLogLine {
  time: string;
  identity: string;
  event?: string;
  /** The fields the timeline reads (README's log contract). */
  phase?: unknown;
  trigger?: unknown;
  signal?: unknown;
  change?: unknown;
  retiring?: unknown;
  state?: unknown;
  result?: unknown;
  holder?: unknown;
}

/** A bot log line (e2e/bots/bot.ts): `mono` in ms since the epoch, `name` the pod. */
export interface BotLogLine {
  mono: number;
  name: string;
  pid: number;
  event: string;
  signal?: string;
  update?: number;
}

/** The double's ledger entries the timeline reads (e2e/telegram/accounting.ts PollEvent). */
export interface LedgerEntry {
  type: 'start' | 'end';
  at: number;
  client: string;
  timeout?: number;
}

/** The steps of a handoff, in the order they happen, with who logs each. */
export const HANDOFF_STEPS = [
  { step: 'sigterm', who: 'old sidecar', what: 'SIGTERM, or its own Pod seen deleting (native sidecar)' },
  { step: 'pause-sent', who: 'old sidecar', what: 'pause signal sent (logged just after the kill)' },
  { step: 'pause-received', who: 'old bot', what: 'pause signal received' },
  { step: 'batch-done', who: 'old bot', what: 'last update of the batch handled' },
  { step: 'offset-confirmed', who: 'double', what: "old bot's last getUpdates answered (offset confirmed)" },
  { step: 'bot-paused', who: 'old bot', what: 'pause done (polling-stop)' },
  { step: 'paused-received', who: 'old sidecar', what: 'POST /paused received (accepted)' },
  { step: 'confirm-answered', who: 'old bot', what: 'POST /paused answered' },
  { step: 'released', who: 'old sidecar', what: 'release written' },
  { step: 'watch-event', who: 'new sidecar', what: 'watch event: the released Lease' },
  { step: 'acquired', who: 'new sidecar', what: 'acquire answered' },
  { step: 'start-sent', who: 'new sidecar', what: 'start signal sent (logged just after the kill)' },
  { step: 'start-received', who: 'new bot', what: 'start signal received' },
  { step: 'polling-start', who: 'new bot', what: 'polling started (start hook done)' },
  { step: 'first-getupdates', who: 'double', what: "new bot's first getUpdates arrived" },
] as const;

export type HandoffStep = (typeof HANDOFF_STEPS)[number]['step'];

/** One graceful handoff: each step's instant in ms after the old sidecar's SIGTERM (absent: not seen). */
export interface HandoffTimeline {
  from: string;
  to: string;
  /** The SIGTERM (or deletion) in ms since the epoch. */
  at: number;
  trigger: string;
  steps: Partial<Record<HandoffStep, number>>;
  /** The old bot's polling-stop → the new bot's polling-start: the rollout gap of this handoff. */
  gapMs: number | undefined;
}

/** Median over the handoffs of each step's instant and of its share (from the step seen before it). */
export interface StepMedian {
  step: HandoffStep;
  who: string;
  what: string;
  n: number;
  /** ms after the SIGTERM. */
  atP50: number;
  /** ms since the previous step seen in the same handoff. */
  deltaP50: number;
  deltaMax: number;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Every graceful handoff with a successor: an old sidecar's `handoff` line of phase `pause` (it led and
 * told its bot to pause), followed by its release and another pod's acquire.
 */
export function handoffTimelines(sidecar: readonly SidecarLogLine[], bots: readonly BotLogLine[], ledger: readonly LedgerEntry[]): HandoffTimeline[] {
  const sc = sidecar
    .filter((l) => typeof l.time === 'string' && typeof l.identity === 'string')
    .map((l) => ({ ...l, at: Date.parse(l.time) }))
    .sort((a, b) => a.at - b.at);
  const bl = [...bots].sort((a, b) => a.mono - b.mono);
  const lg = [...ledger].sort((a, b) => a.at - b.at);
  // The sidecar's instants have 1 ms resolution (pino's ISO time): a later process may log up to 1 ms "before".
  const tick = 1;
  const out: HandoffTimeline[] = [];
  for (const pause of sc.filter((l) => l.event === 'handoff' && l.phase === 'pause')) {
    const old = pause.identity;
    const mine = sc.filter((l) => l.identity === old);
    // The trigger: SIGTERM's `shutdown` line or the Pod watch's deletion line, whichever came first since the
    // pod's previous handoff (a pod whose sidecar restarted may lead and hand over again).
    const previous = mine.filter((l) => l.at < pause.at && l.event === 'handoff' && l.phase === 'pause').at(-1)?.at ?? -Infinity;
    const trigger = mine.find(
      (l) =>
        l.at > previous &&
        l.at <= pause.at &&
        ((l.event === 'shutdown' && l.signal === 'SIGTERM') || (l.event === 'handoff' && l.trigger === 'deletion' && l.phase === undefined)),
    );
    const t0 = trigger?.at ?? pause.at;
    const released = mine.find((l) => l.at >= pause.at && l.event === 'leadership' && l.change === 'released');
    if (!released) continue;
    // The successor: the first other pod to acquire after the pause began. Not "after the release line": the
    // successor may act on the watch event before the old sidecar has logged its release's answer (3a).
    const acquired = sc.find((l) => l.identity !== old && l.at >= pause.at && l.event === 'leadership' && l.change === 'acquired' && l.retiring !== true);
    // A successor was there when the handoff began: after a scale to 0 the pod of the scale back up takes the
    // released Lease seconds later, and that is no handoff.
    if (!acquired || !sc.some((l) => l.identity === acquired.identity && l.at < pause.at)) continue;
    const next = acquired.identity;
    const theirs = sc.filter((l) => l.identity === next);
    const s: Partial<Record<HandoffStep, number>> = {};
    const put = (step: HandoffStep, at: number | undefined) => {
      if (at !== undefined) s[step] = r1(at - t0);
    };
    put('sigterm', t0);
    const pauseSent = mine.find((l) => l.at >= t0 && l.event === 'signal' && l.state === 'paused' && l.result === 'sent')?.at;
    put('pause-sent', pauseSent);
    const oldBot = bl.filter((l) => l.name === old);
    // The sidecar logs a signal after sending it: on a busy node the bot may log its arrival first. So the
    // first one after the trigger (and, for the start, after the watch event).
    const received = oldBot.find((l) => l.mono >= t0 - tick && l.event === 'signal' && l.signal === 'SIGUSR2');
    put('pause-received', received?.mono);
    const stopped = received && oldBot.find((l) => l.mono >= received.mono && l.pid === received.pid && l.event === 'polling-stop');
    if (received && stopped) {
      put(
        'batch-done',
        oldBot.filter((l) => l.pid === received.pid && l.event === 'handled' && l.mono >= received.mono && l.mono <= stopped.mono).at(-1)?.mono,
      );
      put('offset-confirmed', lg.filter((e) => e.type === 'end' && e.client === old && e.at >= received.mono && e.at <= stopped.mono).at(-1)?.at);
      put('bot-paused', stopped.mono);
      put('confirm-answered', oldBot.find((l) => l.pid === received.pid && l.event === 'ack' && l.mono >= stopped.mono)?.mono);
    }
    put('paused-received', mine.find((l) => l.at >= t0 && l.event === 'pause-confirmation' && l.result === 'accepted')?.at);
    put('released', released.at);
    // The watch event that showed the released Lease (holder no longer the old pod), before the acquire.
    const watch = theirs.find((l) => l.at >= pause.at && l.at <= acquired.at && l.event === 'observed' && l.holder !== old)?.at;
    put('watch-event', watch);
    // The acquire's answer: the sidecar logs the Lease it got back (`observed`, holder itself) as it handles the
    // answer, then sends the start signal, and only then the `leadership` line (after its reports): on a busy
    // node the `leadership` line can come tens of ms after the signal. So the earlier of the two.
    const since = watch ?? pause.at;
    const answered = Math.min(acquired.at, theirs.find((l) => l.at >= since && l.event === 'observed' && l.holder === next)?.at ?? Infinity);
    put('acquired', answered);
    const startSent = theirs.find((l) => l.at >= since && l.event === 'signal' && l.state === 'running' && l.result === 'sent')?.at;
    put('start-sent', startSent);
    const newBot = bl.filter((l) => l.name === next);
    const startReceived = newBot.find((l) => l.mono >= since - tick && l.event === 'signal' && l.signal === 'SIGUSR1');
    put('start-received', startReceived?.mono);
    const pollingStart = newBot.find((l) => l.mono >= (startReceived?.mono ?? acquired.at) && l.event === 'polling-start');
    put('polling-start', pollingStart?.mono);
    put('first-getupdates', pollingStart && lg.find((e) => e.type === 'start' && e.client === next && e.at >= pollingStart.mono - tick)?.at);
    out.push({
      from: old,
      to: next,
      at: t0,
      trigger: trigger ? (trigger.event === 'shutdown' ? 'SIGTERM' : 'deletion') : String(pause.trigger),
      steps: s,
      gapMs: stopped && pollingStart ? r1(pollingStart.mono - stopped.mono) : undefined,
    });
  }
  return out;
}

/** The median (and the largest share) of each step over the handoffs. */
export function stepMedians(hs: HandoffTimeline[]): StepMedian[] {
  return HANDOFF_STEPS.map(({ step, who, what }) => {
    const at: number[] = [];
    const delta: number[] = [];
    for (const h of hs) {
      const t = h.steps[step];
      if (t === undefined) continue;
      at.push(t);
      delta.push(t - previousSeen(h, step));
    }
    return {
      step,
      who,
      what,
      n: at.length,
      atP50: r1(percentile(at, 50)),
      deltaP50: r1(percentile(delta, 50)),
      deltaMax: r1(delta.length ? Math.max(...delta) : 0),
    };
  });
}

/** The instant of the last step before `step` seen in `h` (the SIGTERM, 0, at the latest). */
function previousSeen(h: HandoffTimeline, step: HandoffStep): number {
  const i = HANDOFF_STEPS.findIndex((x) => x.step === step);
  for (let j = i - 1; j >= 0; j--) {
    const t = h.steps[HANDOFF_STEPS[j]!.step];
    if (t !== undefined) return t;
  }
  return 0;
}

/**
 * The rollout gap of a handoff (the old bot's polling-stop → the new bot's polling-start) cut at the steps on its
 * path, in the order they must happen: the confirmation (polling-stop → POST /paused received), the release
 * reaching the successor (→ its watch event), the acquire (→ answered), the start signal (→ received by the new
 * bot) and the start (→ polling-start). Absent when a step of the path was not seen.
 */
export const GAP_PARTS = [
  { part: 'confirm', from: 'bot-paused', to: 'paused-received' },
  { part: 'release → watch', from: 'paused-received', to: 'watch-event' },
  { part: 'acquire', from: 'watch-event', to: 'acquired' },
  { part: 'signal', from: 'acquired', to: 'start-received' },
  { part: 'start', from: 'start-received', to: 'polling-start' },
] as const satisfies ReadonlyArray<{ part: string; from: HandoffStep; to: HandoffStep }>;

/** Each part of the gap in ms, or undefined when a step of the path is missing. */
export function gapParts(h: HandoffTimeline): Record<(typeof GAP_PARTS)[number]['part'], number> | undefined {
  const out: Partial<Record<(typeof GAP_PARTS)[number]['part'], number>> = {};
  for (const { part, from, to } of GAP_PARTS) {
    const a = h.steps[from];
    const b = h.steps[to];
    if (a === undefined || b === undefined) return undefined;
    out[part] = r1(b - a);
  }
  return out as Record<(typeof GAP_PARTS)[number]['part'], number>;
}

/** The median (and max) of each part of the gap over the handoffs where the whole path was seen. */
export function gapPartsTable(hs: HandoffTimeline[]): string {
  const parts = hs.flatMap((h) => {
    const p = gapParts(h);
    return p ? [p] : [];
  });
  const rows = [`the gap's path over ${parts.length} handoffs`, '| part | median ms | max ms |', '|---|---|---|'];
  for (const { part, from, to } of GAP_PARTS) {
    const xs = parts.map((p) => p[part]);
    rows.push(`| ${part} (${from} → ${to}) | ${xs.length ? r1(percentile(xs, 50)).toFixed(1) : '-'} | ${xs.length ? r1(Math.max(...xs)).toFixed(1) : '-'} |`);
  }
  return rows.join('\n');
}

const cell = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));

/** One handoff as a table: each step, who logged it, ms after the SIGTERM and since the step before. */
export function timelineTable(h: HandoffTimeline): string {
  const rows = [`handoff ${h.from} → ${h.to} (${h.trigger}; gap ${cell(h.gapMs)} ms)`, '| step | who | ms after SIGTERM | Δ ms |', '|---|---|---|---|'];
  for (const { step, who } of HANDOFF_STEPS) {
    const t = h.steps[step];
    rows.push(`| ${step} | ${who} | ${cell(t)} | ${t === undefined ? '-' : cell(t - previousSeen(h, step))} |`);
  }
  return rows.join('\n');
}

/** The medians as a table. */
export function mediansTable(ms: StepMedian[], n: number): string {
  const rows = [
    `per-step medians over ${n} handoffs`,
    '| step | who | what | median ms after SIGTERM | median Δ ms | max Δ ms | seen |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const m of ms)
    rows.push(
      `| ${m.step} | ${m.who} | ${m.what} | ${m.n ? m.atP50.toFixed(1) : '-'} | ${m.n ? m.deltaP50.toFixed(1) : '-'} | ${m.n ? m.deltaMax.toFixed(1) : '-'} | ${m.n} |`,
    );
  return rows.join('\n');
}
