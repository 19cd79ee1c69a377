/**
 * A request body that could not be parsed (broken JSON, bytes that are not UTF-8, a media
 * type the API does not read), kept as the request's body instead of being answered at once.
 *
 * Fastify parses a body before the route's handler runs, and so before Nest's guards: its
 * 400 or 415 went out before authentication, so a client without credentials, a banned one
 * or one of a switched-off API was told "BadRequest" rather than its reason (CONTRACT 3: the
 * checks run in order and the first failure answers; found by review). The parsers defer the
 * error here and RequestBodyGuard, the last global guard, throws it once the request has
 * passed authentication, the role check and the rate limit.
 */
export class DeferredBodyError {
  constructor(readonly error: unknown) {}
}
