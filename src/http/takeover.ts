// Rule W1's transport (docs/protocol.md): `POST /takeover` on the probe server, where a leader that has
// paused its worker tells the standbys its word, and the sender that tells it. The word proves itself
// (the secret whose hash the holder's record carries), so the route may listen on the pod network: a forged,
// stale or replayed word is ignored by the elector, and nothing else is read or changed here.
import { request as httpRequest } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { TakeoverWord } from '../election/takeover.ts';
import type { WordAnswer } from '../election/elector.ts';

/** The path of the word on every sidecar's probe port. */
export const TAKEOVER_PATH = '/takeover';

/** The body of `POST /takeover`: the word, and the Lease it is about (`namespace/name`). */
export interface WordMessage extends TakeoverWord {
  lease: string;
}

/** Registers `POST /takeover`: `hear` judges the word (or refuses a Lease that is not this pod's) and says what this pod does. */
export function registerTakeoverRoute(app: FastifyInstance, hear: (message: WordMessage) => WordAnswer | { taking: false; reason: 'other-lease' }): void {
  app.post(TAKEOVER_PATH, async (request, reply) => {
    const message = parseWord(request.body);
    if (typeof message === 'string')
      return reply.code(400).send({ error: 'Bad Request', message: `${message}: expected {"lease", "holder", "resourceVersion", "secret"}` });
    return hear(message);
  });
}

function parseWord(body: unknown): WordMessage | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body is not a JSON object';
  const b = body as Record<string, unknown>;
  for (const field of ['lease', 'holder', 'resourceVersion', 'secret'] as const) {
    if (typeof b[field] !== 'string' || b[field] === '') return `"${field}" is not a non-empty string`;
  }
  return { lease: b.lease as string, holder: b.holder as string, resourceVersion: b.resourceVersion as string, secret: b.secret as string };
}

/** A standby the word goes to: its pod's name (for the log) and address. */
export interface WordTarget {
  name: string;
  ip: string;
}

/** What came back from one standby: its answer, or why none came. */
export type WordDelivery = { name: string; answer: WordAnswer | { taking: false; reason: string } } | { name: string; error: string };

/**
 * Tells every target the word at once (a fresh connection each: no pool to keep between handoffs) and
 * resolves with each answer, or error, within `timeoutMs`.
 */
export async function sendWord(targets: readonly WordTarget[], port: number, message: WordMessage, timeoutMs: number): Promise<WordDelivery[]> {
  const body = JSON.stringify(message);
  return Promise.all(
    targets.map(
      (t) =>
        new Promise<WordDelivery>((resolve) => {
          const req = httpRequest(
            {
              host: t.ip,
              port,
              method: 'POST',
              path: TAKEOVER_PATH,
              headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
              timeout: timeoutMs,
              agent: false,
            },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (text += chunk));
              res.on('end', () => {
                if (res.statusCode !== 200) return resolve({ name: t.name, error: `HTTP ${res.statusCode}` });
                try {
                  const answer = JSON.parse(text) as { taking?: unknown; reason?: unknown };
                  resolve({ name: t.name, answer: answer.taking === true ? { taking: true } : { taking: false, reason: String(answer.reason) } });
                } catch {
                  resolve({ name: t.name, error: 'not JSON' });
                }
              });
              res.on('error', (err) => resolve({ name: t.name, error: err.message }));
            },
          );
          req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
          req.on('error', (err) => resolve({ name: t.name, error: err.message }));
          req.end(body);
        }),
    ),
  );
}

/** The holder a warm-up word names: no Lease record ever does (not a valid pod name), so it proves nothing. */
export const WARM_UP_HOLDER = '-warm-up-';
const WARM_UP_ROUNDS = 5;

/**
 * Runs the word's whole path a few times at start — this sender, this pod's route, the elector's judgement
 * of a word that proves nothing — so that the first handoff does not run it cold. A fresh Node process
 * compiles each function on its first calls: on the real node the first word took 10–18 ms from the leader's
 * pause to the standby's acquire being sent; on this host a word's round trip takes 20 ms cold, 2 ms from the
 * third on. Never fails: a warm-up that cannot connect is simply skipped.
 */
export async function warmWordPath(ip: string, port: number, lease: string): Promise<void> {
  const word: WordMessage = { lease, holder: WARM_UP_HOLDER, resourceVersion: '0', secret: '0'.repeat(64) };
  for (let i = 0; i < WARM_UP_ROUNDS; i++) await sendWord([{ name: 'self', ip }], port, word, 1_000);
}

/** What a word's deliveries come to, for the leader (`WordChannel.offer`): who was told, who takes over, whether nobody will. */
export function offerOutcome(told: readonly string[], deliveries: readonly WordDelivery[]): { told: string[]; taking: string[]; declined: boolean } {
  return {
    told: [...told],
    taking: deliveries.flatMap((d) => ('answer' in d && d.answer.taking ? [d.name] : [])),
    declined: nobodyTakes(deliveries),
  };
}

/** Answers that leave the leader nothing to wait for: every standby refused outright, or could not be reached. */
export function nobodyTakes(deliveries: readonly WordDelivery[]): boolean {
  // `busy`: a standby whose read is in flight takes the word once it has answered: worth waiting for.
  return deliveries.every((d) => 'error' in d || (!d.answer.taking && d.answer.reason !== 'busy'));
}
