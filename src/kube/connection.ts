// Where the API server is and how to authenticate to it: a kubeconfig named by KUBECONFIG, or the
// in-cluster ServiceAccount. Parsed here without @kubernetes/client-node, an optional dependency whose
// import costs tens of MB of RSS (README, "Memory"); only kubeconfigs with `exec` or `auth-provider`
// users load it (see `pluginConnection`).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { RequestOptions } from 'node:https';
import { SERVICE_ACCOUNT_DIR, inClusterNamespace } from '../service-account.ts';

/** Bound ServiceAccount tokens rotate (the kubelet refreshes the file); client-go re-reads it about every minute too. */
export const TOKEN_REREAD_MS = 60_000;

/** TLS settings for every request to the API server. */
export interface TlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** False only for `insecure-skip-tls-verify: true`. */
  rejectUnauthorized: boolean;
  /** `tls-server-name`: the name to verify the serving certificate against, when it differs from the host. */
  servername?: string;
}

/** A loaded connection to one API server. */
export interface KubeConnection {
  /** Base URL without a trailing slash, e.g. `https://10.0.0.1:443` (may carry a path prefix behind a proxy). */
  readonly server: string;
  /** The namespace of the kubeconfig context or of the in-cluster ServiceAccount, if known. */
  readonly namespace: string | undefined;
  /** For logs: `in-cluster` or `kubeconfig PATH (context NAME)`. */
  readonly source: string;
  readonly tls: TlsSettings;
  /**
   * Adds credentials to one request's options (an Authorization header, or client certificates from an
   * exec plugin). Called for every request, so rotated tokens are picked up.
   */
  authenticate(options: RequestOptions): Promise<void>;
}

/** Inputs of `loadConnection`; all optional, injectable for tests. */
export interface LoadConnectionOptions {
  env?: Record<string, string | undefined>;
  /** The ServiceAccount directory (default `SERVICE_ACCOUNT_DIR`). */
  serviceAccountDir?: string;
  /** Monotonic milliseconds, for the token re-read interval (default `performance.now`). */
  now?: () => number;
}

/** Loads the connection from `KUBECONFIG` when it is set, else from the in-cluster ServiceAccount. */
export async function loadConnection(options: LoadConnectionOptions = {}): Promise<KubeConnection> {
  const env = options.env ?? process.env;
  const kubeconfig = env.KUBECONFIG;
  if (kubeconfig !== undefined && kubeconfig !== '') {
    const paths = kubeconfig.split(':').filter((p) => p !== '');
    const path = paths.find((p) => existsSync(p));
    if (path === undefined) {
      throw new Error(`KUBECONFIG names no existing file (${kubeconfig}): point it at a kubeconfig file, or unset it to use the in-cluster ServiceAccount`);
    }
    return kubeconfigConnection(path, options);
  }
  return inClusterConnection(options);
}

/** The in-cluster connection: `KUBERNETES_SERVICE_HOST`/`_PORT` and the mounted ServiceAccount token and CA. */
export function inClusterConnection(options: LoadConnectionOptions = {}): KubeConnection {
  const env = options.env ?? process.env;
  const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host) {
    throw new Error('not in a cluster (KUBERNETES_SERVICE_HOST is unset) and KUBECONFIG is not set: set KUBECONFIG to a kubeconfig file');
  }
  if (!port) throw new Error('in-cluster: KUBERNETES_SERVICE_PORT is unset: set it with KUBERNETES_SERVICE_HOST, or set KUBECONFIG');
  const tokens = new FileTokenSource(join(dir, 'token'), options.now, 'the ServiceAccount token');
  tokens.token(); // fail at startup, not at the first request
  const caPath = join(dir, 'ca.crt');
  const ca = readOrExplain(caPath, 'the cluster CA certificate');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    namespace: inClusterNamespace(dir),
    source: 'in-cluster',
    tls: { ca, rejectUnauthorized: true },
    authenticate: async (req) => setHeader(req, 'authorization', `Bearer ${tokens.token()}`),
  };
}

/**
 * A token file read again when the cached copy is older than `TOKEN_REREAD_MS`. A failed re-read keeps the
 * last good token: the kubelet swaps the file atomically, so a failure is transient and the old token is
 * still valid for a while.
 */
export class FileTokenSource {
  readonly path: string;
  private readonly now: () => number;
  private readonly what: string;
  private cached: string | undefined;
  private readAt = 0;

  constructor(path: string, now: () => number = () => performance.now(), what = 'the token file') {
    this.path = path;
    this.now = now;
    this.what = what;
  }

  token(): string {
    const t = this.now();
    if (this.cached !== undefined && t - this.readAt < TOKEN_REREAD_MS) return this.cached;
    try {
      const token = readFileSync(this.path, 'utf8').trim();
      if (token === '') throw new Error('the file is empty');
      this.cached = token;
      this.readAt = t;
    } catch (err) {
      if (this.cached === undefined) {
        throw new Error(
          `cannot read ${this.what} at ${this.path} (${(err as Error).message}): ` +
            `mount a ServiceAccount token (automountServiceAccountToken: true), or set KUBECONFIG`,
          { cause: err },
        );
      }
    }
    return this.cached;
  }
}

// ---- kubeconfig ----

interface NamedEntry {
  name?: unknown;
  [key: string]: unknown;
}

/** Loads the current context of one kubeconfig file. Relative file paths in it are resolved against its directory, as kubectl does. */
export async function kubeconfigConnection(path: string, options: LoadConnectionOptions = {}): Promise<KubeConnection> {
  // Loaded only here: in a cluster the sidecar never parses YAML and need not carry the parser.
  const { load: loadYaml } = await import('js-yaml');
  let doc: unknown;
  try {
    doc = loadYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`kubeconfig ${path}: cannot read or parse it (${(err as Error).message}): fix the file or point KUBECONFIG elsewhere`, { cause: err });
  }
  const where = `kubeconfig ${path}`;
  if (!isRecord(doc)) throw new Error(`${where}: not a kubeconfig (expected a YAML mapping): point KUBECONFIG at a kubeconfig file`);
  const contextName = doc['current-context'];
  if (typeof contextName !== 'string' || contextName === '') {
    throw new Error(`${where}: current-context is not set: set it with \`kubectl config use-context NAME\``);
  }
  const context = findNamed(doc.contexts, contextName, 'context', where);
  const clusterName = str(context.cluster);
  const userName = str(context.user);
  if (!clusterName) throw new Error(`${where}: context "${contextName}" names no cluster: add \`cluster:\` to it`);
  const cluster = findNamed(doc.clusters, clusterName, 'cluster', where);
  const user = userName ? findNamed(doc.users, userName, 'user', where) : {};
  const base = dirname(path);
  const source = `${where} (context ${contextName})`;
  const namespace = str(context.namespace) || undefined;

  const server = str(cluster.server);
  if (!server) throw new Error(`${where}: cluster "${clusterName}" has no server: add \`server: https://HOST:PORT\``);
  if (cluster['proxy-url'] !== undefined) {
    throw new Error(`${where}: cluster "${clusterName}" uses proxy-url, which baton does not support: reach the API server directly`);
  }
  if (user.exec !== undefined || user['auth-provider'] !== undefined) {
    const plugin = user.exec !== undefined ? 'an exec credential plugin' : 'an auth-provider';
    return pluginConnection(path, contextName, server, namespace, source, `${where}: user "${userName}" uses ${plugin}`);
  }

  const insecure = cluster['insecure-skip-tls-verify'] === true;
  const tls: TlsSettings = { rejectUnauthorized: !insecure };
  const ca = dataOrFile(cluster, 'certificate-authority', base, where);
  if (ca && !insecure) tls.ca = ca;
  const servername = str(cluster['tls-server-name']);
  if (servername) tls.servername = servername;
  const cert = dataOrFile(user, 'client-certificate', base, where);
  const key = dataOrFile(user, 'client-key', base, where);
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error(`${where}: user "${userName}" has a client certificate without a key or a key without a certificate: set both`);
  }
  if (cert && key) {
    tls.cert = cert;
    tls.key = key;
  }

  let authorization: () => string | undefined = () => undefined;
  const token = str(user.token);
  const tokenFile = str(user.tokenFile);
  const username = str(user.username);
  if (token) {
    authorization = () => `Bearer ${token}`;
  } else if (tokenFile) {
    const tokens = new FileTokenSource(resolvePath(base, tokenFile), options.now, `the tokenFile of user "${userName}"`);
    tokens.token();
    authorization = () => `Bearer ${tokens.token()}`;
  } else if (username) {
    const basic = `Basic ${Buffer.from(`${username}:${str(user.password)}`).toString('base64')}`;
    authorization = () => basic;
  }
  return {
    server: server.replace(/\/+$/, ''),
    namespace,
    source,
    tls,
    authenticate: async (req) => {
      const value = authorization();
      if (value !== undefined) setHeader(req, 'authorization', value);
    },
  };
}

/** The one line a user gets when a kubeconfig needs @kubernetes/client-node and it is not installed. */
export function clientNodeMissing(what: string): string {
  return (
    `${what}, which needs the optional package @kubernetes/client-node: ` +
    `install it next to baton (npm install @kubernetes/client-node), or use a kubeconfig with a token or a client certificate`
  );
}

/**
 * `exec` and `auth-provider` users run plugins (cloud CLIs) whose protocols client-node implements; baton
 * does not reimplement them. This path imports @kubernetes/client-node lazily: it is an optional peer
 * dependency, absent from the image and from a plain `npm install baton`, and costs tens of MB of RSS.
 * Prefer a token or client certificate (or in-cluster) for a small sidecar.
 */
async function pluginConnection(
  path: string,
  context: string,
  server: string,
  namespace: string | undefined,
  source: string,
  what: string,
): Promise<KubeConnection> {
  const k8s = await import('@kubernetes/client-node').catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException | null)?.code === 'ERR_MODULE_NOT_FOUND') throw new Error(clientNodeMissing(what), { cause: err });
    throw err;
  });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  kc.setCurrentContext(context);
  // Read the static TLS settings once; per request only credentials are refreshed.
  const probe: RequestOptions = {};
  await kc.applyToHTTPSOptions(probe);
  const tls: TlsSettings = { rejectUnauthorized: probe.rejectUnauthorized !== false };
  if (probe.ca) tls.ca = Buffer.from(probe.ca as Buffer);
  if (probe.servername) tls.servername = probe.servername;
  return {
    server: server.replace(/\/+$/, ''),
    namespace,
    source: `${source}, credentials plugin via @kubernetes/client-node`,
    tls,
    authenticate: async (req) => {
      const opts: RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      // Keep our keep-alive agent (client-node makes a new one per call); take only credentials.
      for (const [name, value] of Object.entries(opts.headers ?? {})) {
        if (value !== undefined) setHeader(req, name.toLowerCase(), String(value));
      }
      if (opts.cert) req.cert = opts.cert;
      if (opts.key) req.key = opts.key;
      if (opts.auth) req.auth = opts.auth;
    },
  };
}

function findNamed(list: unknown, name: string, kind: string, where: string): Record<string, unknown> {
  const entries = Array.isArray(list) ? (list as NamedEntry[]) : [];
  const found = entries.find((e) => isRecord(e) && e.name === name);
  if (!found) {
    const known = entries.map((e) => (isRecord(e) ? String(e.name) : '?')).join(', ') || 'none';
    throw new Error(`${where}: ${kind} "${name}" is not defined (known: ${known}): add it or select another context with \`kubectl config use-context\``);
  }
  const body = found[kind];
  return isRecord(body) ? body : {};
}

/** `<field>-data` (base64) wins over `<field>` (a path), as in client-go. */
function dataOrFile(section: Record<string, unknown>, field: string, base: string, where: string): Buffer | undefined {
  const data = str(section[`${field}-data`]);
  if (data) return Buffer.from(data, 'base64');
  const file = str(section[field]);
  if (!file) return undefined;
  return readOrExplain(resolvePath(base, file), `${field} (named in ${where})`);
}

function readOrExplain(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${what} at ${path} (${(err as Error).message}): check that the file exists and is readable`, { cause: err });
  }
}

function resolvePath(base: string, file: string): string {
  return isAbsolute(file) ? file : join(base, file);
}

function setHeader(req: RequestOptions, name: string, value: string): void {
  req.headers = { ...(req.headers as Record<string, string> | undefined), [name]: value };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
