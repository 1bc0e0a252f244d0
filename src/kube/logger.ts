/** The slice of a pino logger the Kubernetes layer uses (a pino `Logger` fits). */
export interface KubeLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Discards everything; the default where logging is optional. */
export const silentLogger: KubeLogger = { warn: () => undefined, debug: () => undefined };
