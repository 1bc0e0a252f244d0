// The reports of a leadership change that go to Kubernetes (rule C2: every change is one log line, one
// metric change, one Event and the pod label). The sidecar calls them; src/app.ts plugs in the real ones.

/** The reports of a leadership change that go to Kubernetes; absent outside a pod. */
export interface ChangeReporters {
  /** Sets the pod label `baton/role`. */
  label?(role: 'leader' | 'standby'): void;
  /** Records an Event on the Pod and on the Lease. */
  event?(type: 'Normal' | 'Warning', reason: string, action: string, note: string): void;
}
