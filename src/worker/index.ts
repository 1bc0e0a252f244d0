/**
 * Finding the worker process in the pod and telling it to run or pause: only the configured process, only
 * once it catches both signals, and the current state again to a worker that restarted.
 */
export { WorkerController } from './controller.ts';
export type { DesiredState, ProcessIdentity, SignalEvent, SignalReason, WorkerControllerOptions, WorkerEvents, WorkerStatus } from './controller.ts';
export { TargetFinder, describeProcess } from './target.ts';
export type { FindResult, Target, TargetCheck, TargetFinderOptions, TargetSelector, TargetSource } from './target.ts';
export { ProcFs, parseSignalMask, parseStat, parseStatus, signalNumber } from './procfs.ts';
export type { ProcStat, ProcStatus } from './procfs.ts';
