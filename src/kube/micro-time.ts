// Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. The API server rejects the
// three digits of `Date.prototype.toISOString()` with 400 on Lease and Event times.

/** Formats a Date as a MicroTime string, e.g. `2026-11-23T12:00:06.925000Z` (JS Dates carry milliseconds only). */
export function formatMicroTime(date: Date): string {
  const iso = date.toISOString(); // always `...ss.mmmZ` for years 0000-9999
  return `${iso.slice(0, -1)}000Z`;
}

const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i;

/**
 * Parses a MicroTime or Time from the wire (any number of fractional digits, `Z` or an offset).
 * Returns `undefined` for null/absent values; a Date is passed through (client-node's typed objects).
 * Sub-millisecond digits are truncated: Date cannot hold them and election logic never needs them.
 */
export function parseMicroTime(value: unknown): Date | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value instanceof Date) return new Date(value.getTime());
  if (typeof value !== 'string') throw new TypeError(`not a Kubernetes time: ${JSON.stringify(value)}`);
  const m = RFC3339.exec(value);
  if (!m) throw new TypeError(`not a Kubernetes time (RFC 3339 expected): ${value}`);
  const fraction = (m[2] ?? '').padEnd(3, '0').slice(0, 3);
  const date = new Date(`${m[1]}.${fraction}${m[3]!.toUpperCase()}`);
  if (Number.isNaN(date.getTime())) throw new TypeError(`not a valid time: ${value}`);
  return date;
}
