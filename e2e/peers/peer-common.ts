// What the TypeScript peers share: their settings from the environment, the JSON-lines event log
// (PEER_LOG) and the worker they drive, found and signalled by baton's own TargetFinder and
// WorkerController, so a peer is exactly as careful with the worker as the sidecar is (it signals only
// the matching process, and only once /proc/PID/status SigCgt shows both signals caught).
import { appendFileSync } from 'node:fs';
import { TargetFinder, WorkerController } from '../../src/worker/index.ts';

export type PeerLog = (event: string, fields?: Record<string, unknown>) => void;

export function requireEnv(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') {
    process.stderr.write(`peer: ${name} must be set\n`);
    process.exit(2);
  }
  return v;
}

export function msEnv(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`peer: ${name}=${JSON.stringify(raw)} is not a positive number of milliseconds\n`);
    process.exit(2);
  }
  return n;
}

/** One JSON line per event in $PEER_LOG (stderr without it), written synchronously so order and the last lines survive exit. */
export function peerLog(peer: string, identity: string): PeerLog {
  const file = process.env.PEER_LOG;
  return (event, fields = {}) => {
    const line = JSON.stringify({ t: Date.now(), mono: performance.timeOrigin + performance.now(), event, peer, identity, pid: process.pid, ...fields });
    if (file) appendFileSync(file, `${line}\n`);
    else process.stderr.write(`${line}\n`);
  };
}

/** The worker named by PEER_TARGET_COMMAND (a regexp on /proc/PID/cmdline joined by spaces), scanned every 500 ms. */
export function peerWorker(log: PeerLog): WorkerController {
  const pattern = new RegExp(requireEnv('PEER_TARGET_COMMAND'));
  const controller = new WorkerController({ finder: new TargetFinder({ selector: { kind: 'command', pattern } }) });
  controller.on('signal', (e) =>
    log('signal', { signal: e.signal, target: e.pid, state: e.state, reason: e.reason, result: e.result, ...(e.error ? { error: e.error } : {}) }),
  );
  controller.on('target-found', (e) => log('target', { target: e.target.pid, ...(e.ambiguity ? { ambiguity: e.ambiguity } : {}) }));
  controller.on('target-lost', (e) => log('target-lost', { target: e.pid, reason: e.reason }));
  controller.on('handlers', (e) => log('handlers', { target: e.pid, installed: e.installed }));
  controller.start();
  return controller;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
