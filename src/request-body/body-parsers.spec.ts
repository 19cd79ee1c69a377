import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { otherMediaTypeParser, utf8JsonParser } from './body-parsers';
import { DeferredBodyError } from './deferred-body-error';

type Parsed = { error: Error | null; body?: unknown };

/** What `parser` hands Fastify for `bytes` sent with `contentType`. */
function parse(
  contentType: string,
  bytes: Buffer,
  parseString = (_: FastifyRequest, text: string, done: (e: Error | null, b?: unknown) => void) =>
    done(null, JSON.parse(text)),
): Parsed {
  const request = { headers: { 'content-type': contentType } } as FastifyRequest;
  let result: Parsed | undefined;
  utf8JsonParser(parseString)(request, bytes, (error, body) => (result = { error, body }));
  if (!result) throw new Error('the parser did not finish');
  return result;
}

/** The error deferred in `parsed`, after checking that Fastify was given no error. */
function deferred(parsed: Parsed): unknown {
  expect(parsed.error).toBeNull();
  expect(parsed.body).toBeInstanceOf(DeferredBodyError);
  return (parsed.body as DeferredBodyError).error;
}

describe('the body parsers', () => {
  it('hand Fastify the parsed JSON of a UTF-8 body', () => {
    expect(parse('application/json', Buffer.from('{"name":"Müller"}'))).toEqual({
      error: null,
      body: { name: 'Müller' },
    });
  });

  it('defer, rather than answer, a body that is not UTF-8 (400)', () => {
    const error = deferred(parse('application/json', Buffer.from([0x7b, 0xfc, 0x7d])));
    expect(error).toBeInstanceOf(BadRequestException);
    expect((error as BadRequestException).getResponse()).toEqual({
      code: 'BadRequest',
      message: 'The request body is not valid UTF-8.',
    });
  });

  it('defer another charset (415)', () => {
    const error = deferred(parse('application/json; charset=latin1', Buffer.from('{}')));
    expect(error).toBeInstanceOf(UnsupportedMediaTypeException);
  });

  it("defer the JSON parser's own error as it is", () => {
    const broken = Object.assign(new SyntaxError('Unexpected end of JSON input'), {
      statusCode: 400,
    });
    const error = deferred(
      parse('application/json', Buffer.from('{"name": '), (_request, _text, done) => done(broken)),
    );
    expect(error).toBe(broken);
  });

  it('defer a 415 for every other media type', () => {
    let result: Parsed | undefined;
    otherMediaTypeParser({} as FastifyRequest, Buffer.from('name=x'), (error, body) => {
      result = { error, body };
    });
    const error = deferred(result!);
    expect(error).toBeInstanceOf(UnsupportedMediaTypeException);
    expect((error as UnsupportedMediaTypeException).getResponse()).toMatchObject({
      code: 'UnsupportedMediaType',
    });
  });
});
