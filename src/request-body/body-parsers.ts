import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnparsedBody } from './unparsed-body';

type Done = (error: Error | null, body?: unknown) => void;
type StringParser = (request: FastifyRequest, body: string, done: Done) => void;

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/**
 * Fastify's JSON parser, given the body only once it is known to be UTF-8: Fastify decodes
 * bodies leniently, so a byte that is not UTF-8 (`M\xfcller`, sent as ISO-8859-1) became
 * U+FFFD and was stored with a 200 (found by review). A body that is not valid UTF-8 is a
 * 400, and a `charset` other than UTF-8 a 415 (JSON is UTF-8, RFC 8259 section 8.1).
 * Fastify's own parser still parses, with its protection against prototype poisoning. All of
 * it happens in `UnparsedBody.parse`, after authentication: this parser only keeps the bytes.
 */
export function utf8JsonParser(parseString: StringParser) {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const parse = (request: FastifyRequest, bytes: Buffer): unknown => {
    const charset = CHARSET.exec(request.headers['content-type'] ?? '')?.[1].toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      throw new UnsupportedMediaTypeException({
        code: 'UnsupportedMediaType',
        message: `JSON bodies are read as UTF-8 only, not as charset ${charset}.`,
      });
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new BadRequestException({
        code: 'BadRequest',
        message: 'The request body is not valid UTF-8.',
      });
    }
    // Fastify's JSON parser answers synchronously (it is a callback only by its signature).
    let outcome: { error: Error | null; body?: unknown } | undefined;
    parseString(request, text, (error, body) => (outcome = { error, body }));
    if (!outcome) throw new Error("Fastify's JSON parser did not answer synchronously");
    if (outcome.error) throw outcome.error;
    return outcome.body;
  };
  return (request: FastifyRequest, bytes: Buffer, done: Done): void =>
    done(null, new UnparsedBody(() => parse(request, bytes)));
}

/**
 * The parser of every media type the API does not read (Fastify's catch-all, `*`): the body
 * is read, within the body limit as any other, and answered 415 after authentication, where
 * Fastify answered it before.
 */
export function otherMediaTypeParser(_request: FastifyRequest, _bytes: Buffer, done: Done): void {
  done(null, new UnparsedBody(refuseMediaType));
}

function refuseMediaType(): never {
  throw new UnsupportedMediaTypeException({
    code: 'UnsupportedMediaType',
    message: 'Request bodies are read as JSON only (Content-Type: application/json).',
  });
}

/**
 * The API's body parsers: JSON (`utf8JsonParser` around Fastify's own) and nothing else; any
 * other media type, `text/plain` included (Fastify reads it by default), gets a 415.
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
