/** The message of an error for a log line or a one-line CLI error: `Error.message`, else the value as a string. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
