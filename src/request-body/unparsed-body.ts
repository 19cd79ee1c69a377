/**
 * A request body that has been read but not yet decoded or parsed: RequestBodyGuard, the last
 * global guard, parses it once the request has passed authentication, the role check and the
 * rate limit, and the route gets the parsed value.
 *
 * Fastify parses a body before the route's handler runs, and so before Nest's guards: its 400
 * or 415 went out before authentication, so a client without credentials, a banned one or one
 * of a switched-off API was told "BadRequest" rather than its reason (CONTRACT 3: the checks
 * run in order and the first failure answers; found by review), and anyone could make the
 * server decode and parse a megabyte of JSON. The parsers now only read the body (within the
 * body limit) and leave the rest to `parse`, which returns the body or throws the 400 or 415.
 */
export class UnparsedBody {
  constructor(readonly parse: () => unknown) {}
}
