// Bot API parameters arrive in four shapes (query string, JSON, urlencoded, multipart). The real
// server flattens them all into string arguments before any method sees them, and so does the
// double: a method reads `params.get('offset')` whatever the client's encoding was.
import { multipartBoundary, parseMultipart } from './multipart.ts';

/** Request parameters, all as strings, the way the Bot API server sees them. */
export type Params = ReadonlyMap<string, string>;

/** What {@link readParams} found: the flattened parameters and the names of uploaded files. */
export interface ParsedParams {
  readonly params: Params;
  readonly files: readonly string[];
}

/**
 * Merges query-string and body parameters (the body wins on a clash). JSON top-level values
 * become strings the way the server stores them: numbers and booleans as their text, arrays and
 * objects as JSON text (so `allowed_updates: ["message"]` and `allowed_updates='["message"]'`
 * end up identical). A body that cannot be parsed contributes nothing.
 */
export function readParams(search: URLSearchParams, contentType: string | undefined, body: Buffer): ParsedParams {
  const params = new Map<string, string>();
  const files: string[] = [];
  for (const [k, v] of search) params.set(k, v);
  const type = (contentType ?? '').toLowerCase();
  if (body.length === 0) return { params, files };
  if (type.startsWith('application/json')) {
    readJson(body, params);
  } else if (type.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.set(k, v);
  } else if (type.startsWith('multipart/form-data')) {
    const boundary = multipartBoundary(contentType ?? '');
    if (boundary !== undefined) {
      for (const part of parseMultipart(body, boundary)) {
        if (part.filename === undefined) params.set(part.name, part.data.toString('utf8'));
        else files.push(part.name);
      }
    }
  }
  return { params, files };
}

function readJson(body: Buffer, into: Map<string, string>): void {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'string') into.set(k, v);
    else if (typeof v === 'number' || typeof v === 'boolean') into.set(k, String(v));
    else into.set(k, JSON.stringify(v));
  }
}

/**
 * Reads an integer argument like the server's `get_integer_arg`: missing or empty means the
 * default; otherwise the leading `-?digits` are parsed (so `"1.9"` is 1 and `"abc"` is 0) and the
 * result is clamped into [min, max] — out-of-range values are clamped, never rejected.
 */
export function integerArg(params: Params, name: string, fallback: number, min = -(2 ** 31), max = 2 ** 31 - 1): number {
  const raw = params.get(name);
  const value = raw === undefined || raw === '' ? fallback : leadingInteger(raw);
  return Math.min(max, Math.max(min, value));
}

function leadingInteger(text: string): number {
  const match = /^(-?)(\d*)/.exec(text.trim());
  const digits = match?.[2] ?? '';
  if (digits === '') return 0;
  const n = Number.parseInt(digits, 10);
  return match?.[1] === '-' ? -n : n;
}

/** The server's `to_bool`: "true" (any case) or "1". */
export function boolArg(params: Params, name: string): boolean {
  const raw = (params.get(name) ?? '').trim().toLowerCase();
  return raw === 'true' || raw === '1';
}
