// A minimal multipart/form-data reader: enough for the Bot API's parameters (text fields) and
// to notice files, which the double accepts but does not store. node:http has no parser of its
// own and the double must not pull in runtime dependencies.

/** One part of a multipart body. */
export interface MultipartPart {
  /** The `name` from Content-Disposition. */
  readonly name: string;
  /** Set when the part is a file upload (`filename=` present). */
  readonly filename?: string;
  readonly data: Buffer;
}

/** The boundary from a `multipart/form-data; boundary=...` Content-Type, if any. */
export function multipartBoundary(contentType: string): string | undefined {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/**
 * Splits a multipart body into its parts. Malformed parts are skipped rather than rejected:
 * the real server is lenient too, and a test of the double should fail on the parameters it
 * expected, not on a parser quirk.
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const afterDelimiter = start + delimiter.length;
    // `--boundary--` closes the body.
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, afterDelimiter);
    if (next === -1) break;
    const part = parsePart(body.subarray(afterDelimiter, next));
    if (part) parts.push(part);
    start = next;
  }
  return parts;
}

function parsePart(raw: Buffer): MultipartPart | undefined {
  // Each part: CRLF, headers, CRLF CRLF, data, CRLF (before the next delimiter).
  const headerEnd = raw.indexOf('\r\n\r\n');
  if (headerEnd === -1) return undefined;
  const headers = raw.subarray(0, headerEnd).toString('utf8');
  let data = raw.subarray(headerEnd + 4);
  if (data.subarray(data.length - 2).toString() === '\r\n') data = data.subarray(0, data.length - 2);
  const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
  const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
  if (name === undefined) return undefined;
  const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
  return filename === undefined ? { name, data } : { name, filename, data };
}
