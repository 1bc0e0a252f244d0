// The REST client, the watch stream and the single-object watcher against a scripted local HTTPS server:
// chunked and partial lines, 410 (as an ERROR event and as HTTP status), idle connections, resume from
// the last resourceVersion; and the labeler's coalescing and the event recorder's isolation.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KubeConnection } from '../../../src/kube/connection.ts';
import { KubeApiError, KubeTransportError } from '../../../src/kube/errors.ts';
import { EventRecorder } from '../../../src/kube/events.ts';
import { ObjectWatcher, type ObjectEvent, type WatchStart } from '../../../src/kube/object-watcher.ts';
import { PodLabeler } from '../../../src/kube/pod-label.ts';
import { KubeClient } from '../../../src/kube/rest.ts';

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}
type Handler = (req: Seen, res: ServerResponse) => void;

let pki: string;
let cert: Buffer;
let server: Server;
let url: string;
let seen: Seen[] = [];
let handler: Handler = (_req, res) => res.end('{}');
let client: KubeClient;

beforeAll(async () => {
  pki = mkdtempSync(join(tmpdir(), 'baton-fake-api-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { cwd: pki, stdio: 'ignore' },
  );
  cert = readFileSync(join(pki, 'cert.pem'));
  server = createServer({ key: readFileSync(join(pki, 'key.pem')), cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'https://x');
      const s: Seen = { method: req.method ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      handler(s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  url = `https://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(pki, { recursive: true, force: true });
});

function newClient(onRequest?: (verb: string, resource: string, code: string, seconds: number) => void): KubeClient {
  const connection: KubeConnection = {
    server: url,
    namespace: 'ns',
    source: 'test',
    tls: { ca: cert, rejectUnauthorized: true },
    authenticate: async (o) => {
      o.headers = { ...(o.headers as Record<string, string>), authorization: 'Bearer test-token' };
    },
  };
  return new KubeClient(connection, onRequest ? { onRequest } : {});
}

afterEach(() => {
  client?.close();
  server.closeAllConnections();
  seen = [];
  handler = (_req, res) => res.end('{}');
});

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
const lease = (rv: string, holder = 'pod-a') => ({ metadata: { name: 'l1', namespace: 'ns', resourceVersion: rv }, spec: { holderIdentity: holder } });
const line = (type: string, object: unknown): string => `${JSON.stringify({ type, object })}\n`;

describe('KubeClient.request', () => {
  it('sends the token, encodes the query, parses JSON and reports the status', async () => {
    const hook = vi.fn();
    client = newClient(hook);
    handler = (_req, res) => json(res, 200, { ok: true });
    const out = await client.request<{ ok: boolean }>({
      verb: 'list',
      resource: 'leases.coordination.k8s.io',
      method: 'GET',
      path: '/apis/coordination.k8s.io/v1/namespaces/ns/leases',
      query: { fieldSelector: 'metadata.name=a b', limit: 1, skip: undefined },
      timeoutMs: 2000,
    });
    expect(out).toEqual({ ok: true });
    expect(seen[0]!.headers.authorization).toBe('Bearer test-token');
    expect(seen[0]!.query.get('fieldSelector')).toBe('metadata.name=a b');
    expect(seen[0]!.query.has('skip')).toBe(false);
    expect(hook).toHaveBeenCalledWith('list', 'leases.coordination.k8s.io', '200', expect.any(Number));
  });

  it('turns 403 into a KubeApiError that names verb, resource, namespace and the fix', async () => {
    client = newClient();
    handler = (_req, res) =>
      json(res, 403, status(403, 'Forbidden', 'leases.coordination.k8s.io "other" is forbidden: User "system:serviceaccount:ns:baton" cannot get resource'));
    const err = await client
      .request({
        verb: 'get',
        resource: 'leases.coordination.k8s.io',
        method: 'GET',
        path: '/apis/coordination.k8s.io/v1/namespaces/ns/leases/other',
        timeoutMs: 2000,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    const e = err as KubeApiError;
    expect(e).toMatchObject({ status: 403, reason: 'Forbidden', verb: 'get', resource: 'leases.coordination.k8s.io', namespace: 'ns' });
    expect(e.message).toContain('forbidden to get leases.coordination.k8s.io "other" in namespace "ns"');
    expect(e.message).toContain("grant it in the ServiceAccount's Role");
    expect(e.message).toContain('apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get"], resourceNames: ["other"]');
  });

  it('tells a 403 of an admission policy apart: the Role allowed it, so it does not advise granting it', async () => {
    client = newClient();
    const said = `ValidatingAdmissionPolicy 'baton.ns.bot' with binding 'baton.ns.bot' denied request: baton: update of pods "b" in namespace "ns" refused`;
    handler = (_req, res) => json(res, 403, status(403, 'Forbidden', said));
    const err = await client
      .request({
        verb: 'patch',
        resource: 'pods',
        method: 'PATCH',
        path: '/api/v1/namespaces/ns/pods/b',
        body: {},
        contentType: 'application/merge-patch+json',
        timeoutMs: 2000,
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403, verb: 'patch', apiMessage: said });
    expect((err as Error).message).toBe(`patch pods "b" in namespace "ns" refused by an admission policy (the Role allows it; the policy says why): ${said}`);
    expect((err as Error).message).not.toContain('grant it');
  });

  it('times out a request that gets no answer, and tells a caller abort apart', async () => {
    const hook = vi.fn();
    client = newClient(hook);
    handler = () => undefined; // never answers
    const started = performance.now();
    const err = await client
      .request({ verb: 'get', resource: 'pods', method: 'GET', path: '/api/v1/namespaces/ns/pods/p', timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeTransportError);
    expect((err as KubeTransportError).code).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(1500);
    expect(hook).toHaveBeenCalledWith('get', 'pods', 'timeout', expect.any(Number));

    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const aborted = await client
      .request({ verb: 'get', resource: 'pods', method: 'GET', path: '/api/v1/namespaces/ns/pods/p', timeoutMs: 5000, signal: ac.signal })
      .catch((e: unknown) => e);
    expect((aborted as KubeTransportError).code).toBe('aborted');
    // A caller's AbortSignal.timeout counts as a timeout.
    const timedOut = await client
      .request({ verb: 'get', resource: 'pods', method: 'GET', path: '/api/v1/namespaces/ns/pods/p', timeoutMs: 5000, signal: AbortSignal.timeout(50) })
      .catch((e: unknown) => e);
    expect((timedOut as KubeTransportError).code).toBe('timeout');
  });
});

describe('KubeClient.watch', () => {
  it('parses events split across chunks at any byte, including inside a UTF-8 character', async () => {
    client = newClient();
    const text = line('ADDED', lease('1', 'pöd-ä')) + line('MODIFIED', lease('2', 'pöd-€')) + '\n' + line('BOOKMARK', { metadata: { resourceVersion: '3' } });
    const bytes = Buffer.from(text);
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      let i = 0;
      const sizes = [1, 7, 3, 50, 2, 1, 1, 1, 30, 100000];
      const next = (): void => {
        if (i >= bytes.length) return void res.end();
        const n = sizes.shift() ?? 5;
        res.write(bytes.subarray(i, i + n));
        i += n;
        setTimeout(next, 2);
      };
      next();
    };
    const events: [string, unknown][] = [];
    await client.watch({
      verb: 'watch',
      resource: 'leases.coordination.k8s.io',
      path: '/apis/coordination.k8s.io/v1/namespaces/ns/leases',
      idleTimeoutMs: 2000,
      onEvent: (t, o) => events.push([t, o]),
    });
    expect(events).toEqual([
      ['ADDED', lease('1', 'pöd-ä')],
      ['MODIFIED', lease('2', 'pöd-€')],
      ['BOOKMARK', { metadata: { resourceVersion: '3' } }],
    ]);
    expect(seen[0]!.query.get('watch')).toBe('true');
  });

  it('handles a last line without a newline', async () => {
    client = newClient();
    handler = (_req, res) => res.end(line('ADDED', lease('1')) + JSON.stringify({ type: 'DELETED', object: lease('2') }));
    const types: string[] = [];
    await client.watch({ verb: 'watch', resource: 'x', path: '/x', idleTimeoutMs: 2000, onEvent: (t) => types.push(t) });
    expect(types).toEqual(['ADDED', 'DELETED']);
  });

  it('rejects with KubeApiError 410 for HTTP 410', async () => {
    client = newClient();
    handler = (_req, res) => json(res, 410, status(410, 'Expired', 'too old resource version: 1 (5)'));
    await expect(client.watch({ verb: 'watch', resource: 'x', path: '/x', idleTimeoutMs: 2000, onEvent: () => undefined })).rejects.toMatchObject({
      status: 410,
      reason: 'Expired',
    });
  });

  it('aborts a connection that goes silent for idleTimeoutMs', async () => {
    client = newClient();
    handler = (_req, res) => {
      res.writeHead(200);
      res.write(line('ADDED', lease('1'))); // then nothing, like a half-open connection
    };
    const types: string[] = [];
    const started = performance.now();
    const err = await client.watch({ verb: 'watch', resource: 'x', path: '/x', idleTimeoutMs: 300, onEvent: (t) => types.push(t) }).catch((e: unknown) => e);
    expect(types).toEqual(['ADDED']);
    expect(err).toMatchObject({ name: 'KubeTransportError', code: 'timeout' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('ObjectWatcher', () => {
  it('lists, resumes from the last version, relists on 410 (event or status), and recovers from idle and failing watches', async () => {
    client = newClient();
    type Step = (req: Seen, res: ServerResponse) => void;
    const stream = (res: ServerResponse, lines: string[], end = true): void => {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (const l of lines) res.write(l);
      if (end) res.end();
    };
    const script: [kind: 'list' | 'watch', Step][] = [
      ['list', (_q, res) => json(res, 200, { metadata: { resourceVersion: '10' }, items: [lease('10')] })],
      ['watch', (_q, res) => stream(res, [line('MODIFIED', lease('11', 'pod-b')), line('BOOKMARK', { metadata: { resourceVersion: '15' } })])],
      ['watch', (_q, res) => stream(res, [line('ERROR', status(410, 'Expired', 'too old resource version: 15 (30)'))])],
      ['list', (_q, res) => json(res, 200, { metadata: { resourceVersion: '30' }, items: [] })],
      ['watch', (_q, res) => stream(res, [], false)], // silent: the idle timeout must end it
      ['watch', (_q, res) => json(res, 500, status(500, 'InternalError', 'etcd is sad'))],
      ['watch', (_q, res) => json(res, 410, status(410, 'Expired', 'too old'))],
      ['list', (_q, res) => json(res, 200, { metadata: { resourceVersion: '40' }, items: [] })],
      ['watch', (_q, res) => stream(res, [line('ADDED', lease('41', 'pod-c'))], false)],
    ];
    handler = (req, res) => {
      const step = script.shift();
      if (!step) return void res.end(); // after the script: end at once (the test stops before)
      const kind = req.query.get('watch') === 'true' ? 'watch' : 'list';
      if (kind !== step[0]) return void json(res, 400, status(400, 'BadRequest', `expected ${step[0]}, got ${kind}`));
      step[1](req, res);
    };
    const events: ObjectEvent<ReturnType<typeof lease>>[] = [];
    const errors: Error[] = [];
    const starts: WatchStart[] = [];
    const recoveries: number[] = [];
    let resolveLast!: () => void;
    const gotLast = new Promise<void>((resolve) => (resolveLast = resolve));
    const watcher = new ObjectWatcher<ReturnType<typeof lease>>({
      client,
      resource: 'leases.coordination.k8s.io',
      collectionPath: '/apis/coordination.k8s.io/v1/namespaces/ns/leases',
      name: 'l1',
      timeoutSeconds: 7,
      idleTimeoutMs: 300,
      requestTimeoutMs: 1000,
      backoff: { initialMs: 10, maxMs: 40 },
      onError: (e) => errors.push(e),
      onStart: (st) => starts.push(st),
      onRecovered: (n) => recoveries.push(n),
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'ADDED') resolveLast();
      },
    });
    watcher.start();
    try {
      await gotLast;
    } finally {
      await watcher.stop();
    }
    expect(events.map((e) => [e.type, e.object?.metadata.resourceVersion])).toEqual([
      ['SYNCED', '10'],
      ['MODIFIED', '11'],
      ['ABSENT', undefined],
      ['ABSENT', undefined],
      ['ADDED', '41'],
    ]);
    const requests = seen.map((s) => `${s.query.get('watch') === 'true' ? 'watch' : 'list'}@${s.query.get('resourceVersion') ?? '-'}`);
    expect(requests).toEqual(['list@-', 'watch@10', 'watch@15', 'list@-', 'watch@30', 'watch@30', 'watch@30', 'list@-', 'watch@40']);
    for (const s of seen) expect(s.query.get('fieldSelector')).toBe('metadata.name=l1');
    const watch = seen.find((s) => s.query.get('watch') === 'true')!;
    expect(watch.query.get('allowWatchBookmarks')).toBe('true');
    expect(watch.query.get('timeoutSeconds')).toBe('7');
    // The idle watch and the 500 are reported; the first 410s relist without counting as failures.
    expect(errors.map((e) => e.name)).toEqual(['KubeTransportError', 'KubeApiError']);
    // Every (re)start with why (how the request before it ended) and the failures in a row before it.
    expect(starts.map((st) => [st.reason, st.failures, st.error?.name])).toEqual([
      ['initial', 0, undefined], // list@- watch@10
      ['closed', 0, undefined], // watch@15: the server ended watch@10
      ['expired', 0, undefined], // list@- watch@30: the ERROR 410 event
      ['timeout', 1, 'KubeTransportError'], // watch@30: the silent watch was ended by the idle timeout
      ['error', 2, 'KubeApiError'], // watch@30: the 500
      ['expired', 2, 'KubeApiError'], // list@- watch@40: the 410 status (no answer since the 500: still 2 failures)
    ]);
    // The list after them was the first answer: recovered from 2 failures in a row, once.
    expect(recoveries).toEqual([2]);
  });

  it('exposes lastContact and lastError for readiness', async () => {
    client = newClient();
    handler = (_req, res) => json(res, 503, status(503, 'ServiceUnavailable', 'down'));
    const watcher = new ObjectWatcher({
      client,
      resource: 'pods',
      collectionPath: '/api/v1/namespaces/ns/pods',
      name: 'p',
      backoff: { initialMs: 20, maxMs: 20 },
      onEvent: () => undefined,
    });
    watcher.start();
    await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(2));
    expect(watcher.lastError).toBeInstanceOf(KubeApiError);
    expect(watcher.lastContact).toBeUndefined();
    expect(watcher.synced).toBe(false);
    handler = (req, res) => (req.query.get('watch') ? res.writeHead(200).write('') : json(res, 200, { metadata: { resourceVersion: '5' }, items: [] }));
    await vi.waitFor(() => expect(watcher.synced).toBe(true));
    expect(watcher.lastContact).toBeGreaterThan(0);
    await vi.waitFor(() => expect(watcher.lastError).toBeUndefined());
    await watcher.stop();
  });
});

describe('PodLabeler', () => {
  it('coalesces to the latest wanted value, skips unchanged values and retries failures', async () => {
    client = newClient();
    let label = '';
    let failNext = 0;
    handler = (req, res) => {
      if (failNext > 0) {
        failNext--;
        return void json(res, 500, status(500, 'InternalError', 'boom'));
      }
      if (req.method !== 'PATCH') return void json(res, 400, status(400, 'BadRequest', 'unexpected'));
      const patch = JSON.parse(req.body) as { metadata: { labels: Record<string, string>; annotations?: Record<string, string> } };
      label = patch.metadata.labels['baton/role']!;
      // As the API server answers a merge patch: the Pod with the label and the annotations it set.
      setTimeout(
        () =>
          json(res, 200, {
            metadata: { name: 'p', resourceVersion: String(seen.length), labels: { 'baton/role': label }, annotations: patch.metadata.annotations ?? {} },
          }),
        100,
      );
    };
    const applied: (string | undefined)[] = [];
    const labeler = new PodLabeler({ client, namespace: 'ns', podName: 'p', backoff: { initialMs: 10, maxMs: 20 }, onApplied: (v) => applied.push(v) });
    labeler.set('leader');
    labeler.set('standby');
    labeler.set('leader');
    await labeler.settled();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'PATCH', path: '/api/v1/namespaces/ns/pods/p' });
    expect(seen[0]!.headers['content-type']).toBe('application/merge-patch+json');
    expect(JSON.parse(seen[0]!.body)).toEqual({
      metadata: { labels: { 'baton/role': 'leader' }, annotations: { 'controller.kubernetes.io/pod-deletion-cost': '1000' } },
    });
    expect(labeler.applied).toBe('leader');

    labeler.set('leader');
    await labeler.settled();
    expect(seen).toHaveLength(1);

    failNext = 2;
    labeler.set('standby');
    await labeler.settled();
    expect(seen).toHaveLength(4);
    expect(labeler.applied).toBe('standby');
    expect(labeler.lastError).toBeUndefined();
    expect(applied).toEqual(['leader', 'standby']);

    // Someone else relabels the pod: the labeler puts its value back; stale observations are ignored.
    labeler.observe('standby', '1', '0');
    expect(seen).toHaveLength(4);
    labeler.observe('leader', '99', '0');
    await labeler.settled();
    expect(seen).toHaveLength(5);
    expect(labeler.applied).toBe('standby');
    labeler.stop();
  });
});

describe('EventRecorder', () => {
  it('posts an events.k8s.io/v1 Event without blocking, and only logs failures', async () => {
    client = newClient();
    let answered = false;
    handler = (_req, res) =>
      setTimeout(() => {
        answered = true;
        json(res, 201, {});
      }, 50);
    const logger = { warn: vi.fn(), debug: vi.fn() };
    const recorder = new EventRecorder({ client, identity: 'pod-a', logger, namespace: 'ns' });
    recorder.record({
      regarding: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: 'l1', namespace: 'ns' },
      related: { apiVersion: 'v1', kind: 'Pod', name: 'pod-a', namespace: 'ns', uid: 'u1' },
      type: 'Normal',
      reason: 'LeaderElected',
      action: 'Acquire',
      note: 'x'.repeat(2000),
    });
    // Fire-and-forget: record() returns before the API server answers (was a wall-clock bound of 20 ms,
    // which a loaded machine broke: 29.5 ms).
    expect(answered).toBe(false);
    expect(await recorder.flush()).toBe(true);
    expect(answered).toBe(true);
    const body = JSON.parse(seen[0]!.body) as Record<string, unknown>;
    expect(seen[0]!.path).toBe('/apis/events.k8s.io/v1/namespaces/ns/events');
    expect(body).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { generateName: 'l1.baton', namespace: 'ns' },
      reportingController: 'baton.dev/sidecar',
      reportingInstance: 'pod-a',
      type: 'Normal',
      reason: 'LeaderElected',
      action: 'Acquire',
      related: { kind: 'Pod', uid: 'u1' },
    });
    expect(body.eventTime).toMatch(/\.\d{6}Z$/);
    expect((body.note as string).length).toBe(1024);
    expect(logger.debug).toHaveBeenCalled();

    handler = (_req, res) => json(res, 403, status(403, 'Forbidden', 'no'));
    recorder.record({ regarding: { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'ns' }, type: 'Warning', reason: 'R', action: 'A', note: 'n' });
    await recorder.flush();
    const [fields, message] = logger.warn.mock.calls[0] as [{ reason: string; err: unknown }, string];
    expect(message).toBe('event not recorded');
    expect(fields.reason).toBe('R');
    expect(fields.err).toBeInstanceOf(KubeApiError);
  });
});
