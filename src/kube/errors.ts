// Errors of the REST client. Messages are written for the operator reading a log line: they say what
// was refused and what to change.

/** Identifies one API call in errors and metrics. */
export interface CallTarget {
  /** Kubernetes verb as RBAC names it: get, list, watch, create, update, patch, delete. */
  verb: string;
  /** `plural.group` as RBAC names it, e.g. `leases.coordination.k8s.io`; core resources have no group (`pods`). */
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
}

/** The API server answered with a non-2xx status. */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  readonly status: number;
  /** The `reason` of the API's Status object (`NotFound`, `Conflict`, `Forbidden`, `Expired`, ...), or `''`. */
  readonly reason: string;
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  /** The API server's own message (the Status `message`), without baton's advice. */
  readonly apiMessage: string;

  constructor(target: CallTarget, status: number, reason: string, apiMessage: string) {
    super(describeApiError(target, status, reason, apiMessage));
    this.status = status;
    this.reason = reason;
    this.verb = target.verb;
    this.resource = target.resource;
    this.namespace = target.namespace;
    this.apiMessage = apiMessage;
  }
}

/** No HTTP answer: the request timed out, was aborted, or the connection failed (refused, reset, TLS). */
export class KubeTransportError extends Error {
  override name = 'KubeTransportError';
  /** `timeout`: no complete answer in time (or the caller's own timeout signal fired); `aborted`: the caller cancelled. */
  readonly code: 'timeout' | 'aborted' | 'error';
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string | undefined;

  constructor(target: CallTarget, code: 'timeout' | 'aborted' | 'error', detail: string, cause?: unknown) {
    super(`${target.verb} ${where(target)}: ${detail}`, cause === undefined ? undefined : { cause });
    this.code = code;
    this.verb = target.verb;
    this.resource = target.resource;
    this.namespace = target.namespace;
  }
}

function where(t: CallTarget): string {
  const obj = t.name ? `${t.resource} "${t.name}"` : t.resource;
  return t.namespace ? `${obj} in namespace "${t.namespace}"` : obj;
}

function describeApiError(t: CallTarget, status: number, reason: string, apiMessage: string): string {
  const said = apiMessage ? `: ${apiMessage}` : '';
  if (status === 403 && /ValidatingAdmissionPolicy|admission webhook/.test(apiMessage)) {
    // Admission runs after authorization: RBAC allowed the request and a policy refused it.
    return `${t.verb} ${where(t)} refused by an admission policy (the Role allows it; the policy says why)${said}`;
  }
  if (status === 403) {
    const dot = t.resource.indexOf('.');
    const plural = dot < 0 ? t.resource : t.resource.slice(0, dot);
    const group = dot < 0 ? '' : t.resource.slice(dot + 1);
    const rule =
      `apiGroups: ["${group}"], resources: ["${plural}"], verbs: ["${t.verb}"]` + `${t.name && t.verb !== 'create' ? `, resourceNames: ["${t.name}"]` : ''}`;
    return `forbidden to ${t.verb} ${where(t)}: grant it in the ServiceAccount's Role (${rule})${said}`;
  }
  if (status === 401) {
    return (
      `${t.verb} ${where(t)}: unauthorized (401): the token or client certificate was not accepted; ` +
      `check the ServiceAccount token or the kubeconfig credentials${said}`
    );
  }
  return `${t.verb} ${where(t)}: HTTP ${status}${reason ? ` ${reason}` : ''}${said}`;
}
