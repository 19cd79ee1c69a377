/**
 * What an OData client can accept (OData 4.0 Part 1, 8.2.1 and 8.2.7): the format of the answer
 * by `Accept` (unless `$format` names it, which the controller checks), and the protocol
 * version by `OData-MaxVersion`. Both were ignored: `Accept: application/xml` got JSON, and an
 * OData 3 client (`OData-MaxVersion: 3.0`) a 4.0 answer (found by review).
 */

/** The media type a route answers with. */
function producedType(routeUrl: string): string {
  if (routeUrl.endsWith('/$metadata')) return 'application/xml';
  if (routeUrl.endsWith('/$count') || routeUrl.endsWith('/$value')) return 'text/plain';
  return 'application/json';
}

/** Whether some range of an Accept header (`type/sub;q=…`, comma-separated) takes `type`. */
export function accepts(accept: string, type: string): boolean {
  const [major] = type.split('/');
  return accept.split(',').some((range) => {
    const [mediaRange, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const refused = parameters.some((p) => /^q\s*=\s*0(\.0{0,3})?$/.test(p));
    return !refused && (mediaRange === '*/*' || mediaRange === `${major}/*` || mediaRange === type);
  });
}

const MAX_VERSION = /^\s*(\d+)\.(\d+)\s*$/;

/**
 * Why the answer to this request cannot be one the client takes, or undefined when it can.
 * Cheap when there is nothing to check: most clients send no OData-MaxVersion and an Accept
 * of `*\/*` or JSON.
 */
export function notAcceptable(
  routeUrl: string,
  headers: { accept?: string; 'odata-maxversion'?: string | string[] },
  format: unknown,
): string | undefined {
  const maxVersion = headers['odata-maxversion'];
  if (maxVersion !== undefined) {
    const match = MAX_VERSION.exec(String(maxVersion));
    if (match && Number(match[1]) < 4) {
      return `OData-MaxVersion ${String(maxVersion).trim()}: this service speaks OData 4.0 only.`;
    }
  }
  const accept = headers.accept;
  if (accept === undefined || format !== undefined || accept.includes('*/*')) return undefined;
  const type = producedType(routeUrl);
  return accepts(accept, type) ? undefined : `Accept: this resource is served as ${type} only.`;
}
