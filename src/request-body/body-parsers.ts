import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DeferredBodyError } from './deferred-body-error';

type Done = (error: Error | null, body?: unknown) => void;
type StringParser = (request: FastifyRequest, body: string, done: Done) => void;

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/**
 * Fastify's JSON parser, given the body only once it is known to be UTF-8: Fastify decodes
 * bodies leniently, so a byte that is not UTF-8 (`M\xfcller`, sent as ISO-8859-1) became
 * U+FFFD and was stored with a 200 (found by review). A body that is not valid UTF-8 is a
 * 400, and a `charset` other than UTF-8 a 415 (JSON is UTF-8, RFC 8259 section 8.1).
 * Fastify's own parser still parses, with its protection against prototype poisoning.
 * Every such error is deferred (DeferredBodyError), to be answered after authentication.
 */
export function utf8JsonParser(parseString: StringParser) {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return (request: FastifyRequest, body: Buffer, done: Done): void => {
    const deferring: Done = (error, parsed) =>
      error ? done(null, new DeferredBodyError(error)) : done(null, parsed);
    const charset = CHARSET.exec(request.headers['content-type'] ?? '')?.[1].toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      deferring(
        new UnsupportedMediaTypeException({
          code: 'UnsupportedMediaType',
          message: `JSON bodies are read as UTF-8 only, not as charset ${charset}.`,
        }),
      );
      return;
    }
    let text: string;
    try {
      text = decoder.decode(body);
    } catch {
      deferring(
        new BadRequestException({
          code: 'BadRequest',
          message: 'The request body is not valid UTF-8.',
        }),
      );
      return;
    }
    parseString(request, text, deferring);
  };
}

/**
 * The parser of every media type the API does not read (Fastify's catch-all, `*`): the body
 * is read, within the body limit as any other, and its 415 deferred like the JSON parser's
 * errors; Fastify would have answered 415 before authentication.
 */
export function otherMediaTypeParser(_request: FastifyRequest, _body: Buffer, done: Done): void {
  done(
    null,
    new DeferredBodyError(
      new UnsupportedMediaTypeException({
        code: 'UnsupportedMediaType',
        message: 'Request bodies are read as JSON only (Content-Type: application/json).',
      }),
    ),
  );
}

/**
 * The API's body parsers: JSON (`utf8JsonParser` around Fastify's own) and nothing else; any
 * other media type, `text/plain` included (Fastify reads it by default), gets a deferred 415.
 */
export function useBodyParsers(fastify: FastifyInstance): void {
  // Typed as either kind of parser; Fastify's default JSON parser is the callback kind.
  const parseString = fastify.getDefaultJsonParser('error', 'error') as StringParser;
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    utf8JsonParser(parseString),
  );
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, otherMediaTypeParser);
}
