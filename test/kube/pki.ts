// The test clusters' certificates, made with openssl: one CA in a folder, certificates it signs (an API
// server's serving certificate with the names and addresses clients use, client certificates, any other
// leaf), and the ServiceAccount token signing key. Used by the loopback API server (test/kube/apiserver.ts)
// and the real node (test/node/pki.ts).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** RSA 2048 or ECDSA P-256 (quicker to make on a busy 2-core machine). */
export type KeyAlgorithm = 'rsa' | 'ec';

export interface PkiOptions {
  /** The CA's subject, like /CN=x. */
  caSubject: string;
  /** How long every certificate is valid. */
  days: number;
  /** Of every key: the CA's, the leaves', the ServiceAccount signing key. */
  algorithm: KeyAlgorithm;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error("baton tests: `openssl` was not found; it makes the test clusters' certificates. Install it: apt-get install openssl", { cause: err });
    }
    throw err;
  }
}

/**
 * A CA in `dir` (ca.key, ca.crt), made by the constructor, and the files it signs there: for a name `x`,
 * x.key, x.crt (and the x.csr and x.ext they were made from).
 */
export class Pki {
  readonly dir: string;
  private readonly o: PkiOptions;

  constructor(dir: string, o: PkiOptions) {
    this.dir = dir;
    this.o = o;
    this.key('ca');
    openssl(
      [
        'req',
        '-x509',
        '-new',
        '-key',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        String(o.days),
        '-subj',
        o.caSubject,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      ],
      dir,
    );
  }

  /** A private key `name`.key. */
  private key(name: string): void {
    const opt = this.o.algorithm === 'ec' ? ['EC', 'ec_paramgen_curve:P-256'] : ['RSA', 'rsa_keygen_bits:2048'];
    openssl(['genpkey', '-algorithm', opt[0]!, '-pkeyopt', opt[1]!, '-out', `${name}.key`], this.dir);
  }

  /** A key and a certificate signed by the CA: `subj` like /CN=x/O=y, `ext` the x509v3 extension lines beyond a leaf's own. */
  signed(name: string, subj: string, ext: string[]): void {
    const dir = this.dir;
    this.key(name);
    writeFileSync(join(dir, `${name}.ext`), `${['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', ...ext].join('\n')}\n`);
    openssl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', subj], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        String(this.o.days),
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  }

  /** A client certificate (Kubernetes reads the user from CN and the groups from O). */
  client(name: string, subj: string): void {
    this.signed(name, subj, ['extendedKeyUsage=clientAuth']);
  }

  /** A serving certificate for `sans` (like IP:10.0.0.1, DNS:node). */
  serving(name: string, subj: string, sans: string[]): void {
    this.signed(name, subj, ['extendedKeyUsage=serverAuth', `subjectAltName=${sans.join(',')}`]);
  }

  /**
   * An API server's serving certificate, CN kube-apiserver: loopback, `ips` (the bridge address, the
   * `kubernetes` Service IP…), and every name of the `kubernetes` Service.
   */
  apiServer(name: string, ips: string[]): void {
    const dns = ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];
    this.serving(name, '/CN=kube-apiserver', [...['127.0.0.1', ...ips].map((ip) => `IP:${ip}`), ...dns.map((d) => `DNS:${d}`)]);
  }

  /** The ServiceAccount token signing key: sa.key, and its public half sa.pub. */
  serviceAccountKey(): void {
    this.key('sa');
    openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], this.dir);
  }
}
