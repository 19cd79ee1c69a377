/**
 * What an OData client can accept (OData 4.0 Part 1, 8.2.1 and 8.2.7): the format of the answer
 * by `$format` or else by `Accept`, and the protocol version by `OData-MaxVersion`. Both were
 * ignored: `Accept: application/xml` got JSON, and an OData 3 client (`OData-MaxVersion: 3.0`)
 * a 4.0 answer (found by review). `$format` was checked against JSON whatever the route served
 * (`/$count?$format=text/plain` was a 406, `$metadata?$format=json` got XML; found by review).
 */

/** The media type a route answers with. */
function producedType(routeUrl: string): string {
  if (routeUrl.endsWith('/$metadata')) return 'application/xml';
  if (routeUrl.endsWith('/$count') || routeUrl.endsWith('/$value')) return 'text/plain';
  return 'application/json';
}

/** The short names `$format` may give instead of the media type (OData 4.0 Part 2, $format). */
const FORMAT_NAMES: Record<string, string> = {
  'application/json': 'json',
  'application/xml': 'xml',
};

/**
 * Whether a `$format` value names `type`: its short name, or the media type with or without
 * parameters (`application/json;odata.metadata=minimal`), in any case. A range (`*\/*`) is
 * not a format.
 */
export function formatNames(format: string, type: string): boolean {
  const semicolon = format.indexOf(';');
  const name = (semicolon === -1 ? format : format.slice(0, semicolon)).trim().toLowerCase();
  return name === type || (semicolon === -1 && name === FORMAT_NAMES[type]);
}

/** A media range (`type/sub;name=value`), lowercased, with `q=0` ranges left out. */
interface MediaRange {
  type: string;
  parameters: string[];
}

/** The ranges of an Accept header or `$format` value (comma-separated) the client takes. */
function mediaRanges(text: string): MediaRange[] {
  return text.split(',').flatMap((range) => {
    const [type, ...parameters] = range.split(';').map((part) =>
      part
        .trim()
        .toLowerCase()
        .replace(/\s*=\s*/, '='),
    );
    return parameters.some((p) => /^q=0(\.0{0,3})?$/.test(p)) ? [] : [{ type, parameters }];
  });
}

/** Whether some range of an Accept header (`type/sub;q=…`, comma-separated) takes `type`. */
export function accepts(accept: string, type: string): boolean {
  const [major] = type.split('/');
  return mediaRanges(accept).some(
    (range) => range.type === '*/*' || range.type === `${major}/*` || range.type === type,
  );
}

/**
 * Whether the client asks for decimals as strings (`IEEE754Compatible=true` on an
 * `application/json` range of `$format` or of its Accept header, OData JSON Format 3.2).
 */
export function wantsIeee754Compatible(format: unknown, accept: string | undefined): boolean {
  const text = `${typeof format === 'string' ? format : ''},${accept ?? ''}`;
  // Nearly no request asks: no parse then.
  if (!/ieee754compatible/i.test(text)) return false;
  return mediaRanges(text).some(
    (range) =>
      range.type === 'application/json' && range.parameters.includes('ieee754compatible=true'),
  );
}

const MAX_VERSION = /^\s*(\d+)\.(\d+)\s*$/;

/**
 * Why the answer to this request cannot be one the client takes, or undefined when it can.
 * `$format`, when given, is checked instead of Accept, which it overrides (Part 1, 8.2.1): on
 * every route, against the type that route answers with. Cheap when there is nothing to check:
 * most clients send no `$format`, no OData-MaxVersion and an Accept of `*\/*` or JSON.
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
  if (format !== undefined) {
    const type = producedType(routeUrl);
    // Repeated, `$format` is an array: no one format is named.
    if (typeof format === 'string' && formatNames(format, type)) return undefined;
    return `$format: this resource is served as ${type} only.`;
  }
  const accept = headers.accept;
  if (accept === undefined || accept.includes('*/*')) return undefined;
  const type = producedType(routeUrl);
  return accepts(accept, type) ? undefined : `Accept: this resource is served as ${type} only.`;
}
