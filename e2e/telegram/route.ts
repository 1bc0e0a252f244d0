// Where a request goes, from its path alone. Supports an optional leading client name
// (`/<client>/bot<token>/<method>`) because frameworks make it easy to change the apiRoot and
// hard to add a header: giving each bot its own apiRoot path is how a test tells pollers apart.

/** A parsed request path. */
export type Route =
  | { readonly kind: 'hook'; readonly path: readonly string[] }
  | { readonly kind: 'api'; readonly token: string; readonly method: string | undefined; readonly client: string | undefined }
  | { readonly kind: 'none' };

/** Prefix of the test-hook routes. */
export const HOOK_PREFIX = '__double';

/**
 * Parses `/bot<token>/<method>`, `/<client>/bot<token>/<method>` (also with the `/test/`
 * environment segment) and `/__double/...`. Repeated slashes are collapsed, so an apiRoot given
 * with or without a trailing slash works. `method` is undefined when the path has none or too
 * many segments after the token.
 */
export function parseRoute(pathname: string): Route {
  const segments = pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decode);
  if (segments[0] === HOOK_PREFIX) return { kind: 'hook', path: segments.slice(1) };
  let client: string | undefined;
  let rest = segments;
  if (segments.length >= 3 && (segments[1] ?? '').startsWith('bot')) {
    client = segments[0];
    rest = segments.slice(1);
  }
  const botSegment = rest[0];
  if (botSegment === undefined || !botSegment.startsWith('bot')) return { kind: 'none' };
  let tail = rest.slice(1);
  if (tail.length === 2 && tail[0] === 'test') tail = tail.slice(1);
  return { kind: 'api', token: botSegment.slice(3), method: tail.length === 1 ? tail[0] : undefined, client };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
