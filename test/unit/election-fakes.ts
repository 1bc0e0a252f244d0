// Fakes for the election's unit tests: an in-memory Lease
// with optimistic concurrency, failure injection and a simulated watch.
import { FakeClock } from './fake-clock.ts';
import { LockConflictError, type LeaseLock } from '../../src/election/lock.ts';
import type { LeaderRecord, ObservedLease } from '../../src/election/record.ts';

export type LockCall = { who: string; op: 'get' | 'create' | 'update'; at: number };

/** One stored Lease shared by several candidates, each with its own `MemoryLock` view. */
export class MemoryLease {
  record: LeaderRecord | undefined;
  rv = 0;
  calls: LockCall[] = [];
  private watchers: Array<(lease: ObservedLease | undefined, deleted: boolean) => void> = [];
  /** Failure injection: who → what to do with that candidate's next calls. */
  failing = new Map<string, 'error' | 'hang' | 'stuck'>();
  /** Called before every call; a returned promise holds the call until it settles (to order races by hand). */
  hook: ((who: string, op: LockCall['op']) => Promise<void> | undefined) | undefined;
  readonly clock: FakeClock;
  /**
   * A frozen API server (SIGSTOP): every call hangs until its caller gives up, no watch event goes out, and the
   * writes that arrived meanwhile are carried out, in order, when it resumes (nobody hears their answers).
   */
  private frozen: Array<() => void> | undefined;

  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  lockFor(who: string): MemoryLock {
    return new MemoryLock(this, who);
  }

  /** A simulated watch: every write is delivered to every watcher. */
  watch(fn: (lease: ObservedLease | undefined, deleted: boolean) => void): () => void {
    this.watchers.push(fn);
    return () => (this.watchers = this.watchers.filter((w) => w !== fn));
  }

  current(): ObservedLease | undefined {
    return this.record ? { record: { ...this.record }, resourceVersion: String(this.rv) } : undefined;
  }

  freeze(): void {
    this.frozen ??= [];
  }

  /** Resumes a frozen server: the writes it took meanwhile land now (the first wins, the rest conflict). */
  resume(): void {
    const queued = this.frozen ?? [];
    this.frozen = undefined;
    for (const apply of queued) apply();
  }

  /** While frozen: queues `apply` for the resume, and fails the call when its caller aborts. */
  async frozenCall(apply: () => void, signal: AbortSignal): Promise<never> {
    this.frozen!.push(apply);
    return new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
  }

  isFrozen(): boolean {
    return this.frozen !== undefined;
  }

  /** A write from outside the election (kubectl edit, say). */
  edit(change: Partial<LeaderRecord>): void {
    if (!this.record) throw new Error('no lease');
    this.record = { ...this.record, ...change };
    this.rv++;
    this.notify(false);
  }

  delete(): void {
    this.record = undefined;
    this.rv++;
    this.notify(true);
  }

  write(record: LeaderRecord): ObservedLease {
    this.record = { ...record };
    this.rv++;
    this.notify(false);
    return this.current()!;
  }

  private notify(deleted: boolean): void {
    const snapshot = this.current();
    // Watch events arrive asynchronously, after the writer's response.
    queueMicrotask(() => {
      for (const w of this.watchers) w(snapshot, deleted);
    });
  }
}

export class MemoryLock implements LeaseLock {
  private readonly store: MemoryLease;
  private readonly who: string;

  constructor(store: MemoryLease, who: string) {
    this.store = store;
    this.who = who;
  }

  describe(): string {
    return `memory/${this.who}`;
  }

  private async gate(op: LockCall['op'], signal: AbortSignal): Promise<void> {
    this.store.calls.push({ who: this.who, op, at: this.store.clock.now() });
    const mode = this.store.failing.get(this.who);
    if (mode === 'error') throw new Error('connection refused');
    if (mode === 'stuck') await new Promise<never>(() => undefined); // ignores even the abort
    const held = this.store.hook?.(this.who, op);
    if (held) await held;
    if (mode === 'hang') {
      await new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    }
  }

  async get(signal: AbortSignal): Promise<ObservedLease | undefined> {
    await this.gate('get', signal);
    if (this.store.isFrozen()) return this.store.frozenCall(() => undefined, signal);
    return this.store.current();
  }

  async create(record: LeaderRecord, signal: AbortSignal): Promise<ObservedLease> {
    await this.gate('create', signal);
    if (this.store.isFrozen()) return this.store.frozenCall(() => void (this.store.record ? undefined : this.store.write(record)), signal);
    if (this.store.record) throw new LockConflictError('already exists');
    return this.store.write(record);
  }

  async update(record: LeaderRecord, base: ObservedLease, signal: AbortSignal): Promise<ObservedLease> {
    await this.gate('update', signal);
    if (this.store.isFrozen()) return this.store.frozenCall(() => void (this.store.record && String(this.store.rv) === base.resourceVersion ? this.store.write(record) : undefined), signal);
    const resourceVersion = base.resourceVersion;
    // As the real API server answers a lock that sends the uid it read: a deleted Lease is a conflict.
    if (!this.store.record) throw new LockConflictError('precondition failed: uid');
    if (String(this.store.rv) !== resourceVersion) throw new LockConflictError('conflict');
    return this.store.write(record);
  }
}
