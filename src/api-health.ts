// Tallies the API server's answers for readiness: is it answering, and does RBAC let us do our job?
// Fed by the REST client's per-request hook and the watches' errors and activity.
import type { Clock } from './election/clock.ts';

/** Where the API server's answers are tallied, for readiness. */
export interface ApiHealth {
  /** A sentence naming what is wrong with the API connection or RBAC, or undefined when all is well. */
  problem(): string | undefined;
}

/** Options of {@link ApiHealthTally}. */
export interface ApiHealthOptions {
  /**
   * Calls (`verb resource`, e.g. `patch pods`) that baton's job does not depend on: their 403 is reported by
   * their owner (log line, request metric), never on readiness — a pod that is never ready for a label it
   * cannot write stalls a `maxUnavailable: 0` rollout (rule C4).
   */
  optional?: readonly string[];
}

export class ApiHealthTally implements ApiHealth {
  private readonly clock: Clock;
  private readonly server: string;
  private readonly namespace: string;
  private lastSuccess: number | undefined;
  private lastFailure: { at: number; what: string } | undefined;
  /** verb + resource → the last answer was 403 (cleared by a later success of the same call). */
  private readonly forbidden = new Map<string, string>();
  private readonly optional: ReadonlySet<string>;

  constructor(clock: Clock, server: string, namespace: string, options: ApiHealthOptions = {}) {
    this.clock = clock;
    this.server = server;
    this.namespace = namespace;
    this.optional = new Set(options.optional ?? []);
  }

  /** One request's outcome: `code` is the HTTP status, or `timeout`/`error`. */
  request(verb: string, resource: string, code: string): void {
    const now = this.clock.now();
    const key = `${verb} ${resource}`;
    const status = Number(code);
    if (status === 403) {
      this.lastSuccess = now; // the API server answered; RBAC is the problem
      if (this.optional.has(key)) return;
      this.forbidden.set(key, `RBAC: the ServiceAccount may not ${verb} ${resource} in namespace ${this.namespace}: grant it in the Role bound to it`);
      return;
    }
    if (Number.isFinite(status) && status < 500 && status !== 401) {
      this.lastSuccess = now;
      this.forbidden.delete(key);
      return;
    }
    const what =
      status === 401
        ? 'it refused our credentials (401): check the ServiceAccount token or kubeconfig'
        : code === 'timeout'
          ? 'a request timed out'
          : Number.isFinite(status)
            ? `it answered ${status}`
            : 'it could not be reached';
    this.lastFailure = { at: now, what };
  }

  /** A watch delivered bytes: the API server is there. */
  activity(): void {
    this.lastSuccess = this.clock.now();
  }

  /** A watch or request failed before any HTTP answer. */
  failure(err: Error): void {
    this.lastFailure = { at: this.clock.now(), what: err.message };
  }

  problem(): string | undefined {
    const forbidden = [...this.forbidden.values()];
    if (forbidden.length > 0) return forbidden.join('; ');
    if (this.lastFailure && (this.lastSuccess === undefined || this.lastFailure.at > this.lastSuccess)) {
      const secs = Math.round((this.clock.now() - this.lastFailure.at) / 1000);
      return `the API server at ${this.server} is not answering (${this.lastFailure.what}${secs > 0 ? `, ${secs} s ago` : ''}); retrying`;
    }
    if (this.lastSuccess === undefined) return `waiting for the first answer from the API server at ${this.server}`;
    return undefined;
  }
}
