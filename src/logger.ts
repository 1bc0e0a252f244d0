// Structured JSON logs (pino) with stable field names: `msg` says what happened in words, `event` names it
// for machines (e.g. `leadership`), and the identity and Lease are on every line.
import { pino, type Logger } from 'pino';

export function createLogger(level: string, base: { identity: string; lease: string; namespace: string }): Logger {
  return pino({
    level,
    base: { ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
