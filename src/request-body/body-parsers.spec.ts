import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { otherMediaTypeParser, utf8JsonParser } from './body-parsers';
import { UnparsedBody } from './unparsed-body';

type StringParser = Parameters<typeof utf8JsonParser>[0];

const jsonParse: StringParser = (_request, text, done) => done(null, JSON.parse(text));

/** What the JSON parser hands Fastify for `bytes` sent as `contentType`: an UnparsedBody. */
function read(contentType: string, bytes: Buffer, parseString = jsonParse): UnparsedBody {
  const request = { headers: { 'content-type': contentType } } as FastifyRequest;
  let handed: { error: Error | null; body?: unknown } | undefined;
  utf8JsonParser(parseString)(request, bytes, (error, body) => (handed = { error, body }));
  expect(handed?.error).toBeNull();
  expect(handed?.body).toBeInstanceOf(UnparsedBody);
  return handed!.body as UnparsedBody;
}

/** What `parse()` throws. */
function refusal(body: UnparsedBody): unknown {
  try {
    body.parse();
  } catch (error) {
    return error;
  }
  throw new Error('parse() did not throw');
}

describe('the body parsers', () => {
  it('only keep the bytes; parse() gives the JSON of a UTF-8 body', () => {
    let parsed = 0;
    const body = read('application/json', Buffer.from('{"name":"Müller"}'), (...args) => {
      parsed++;
      jsonParse(...args);
    });
    expect(parsed).toBe(0);
    expect(body.parse()).toEqual({ name: 'Müller' });
    expect(parsed).toBe(1);
  });

  it('refuse, on parse(), a body that is not UTF-8 (400)', () => {
    const error = refusal(read('application/json', Buffer.from([0x7b, 0xfc, 0x7d])));
    expect(error).toBeInstanceOf(BadRequestException);
    expect((error as BadRequestException).getResponse()).toEqual({
      code: 'BadRequest',
      message: 'The request body is not valid UTF-8.',
    });
  });

  it('refuse another charset (415)', () => {
    const error = refusal(read('application/json; charset=latin1', Buffer.from('{}')));
    expect(error).toBeInstanceOf(UnsupportedMediaTypeException);
  });

  it("throw the JSON parser's own error as it is", () => {
    const broken = Object.assign(new Error('Body is not valid JSON'), { statusCode: 400 });
    const body = read('application/json', Buffer.from('{"name": '), (_request, _text, done) =>
      done(broken),
    );
    expect(refusal(body)).toBe(broken);
  });

  it('refuse every other media type (415)', () => {
    let handed: unknown;
    otherMediaTypeParser({} as FastifyRequest, Buffer.from('name=x'), (_error, body) => {
      handed = body;
    });
    expect(handed).toBeInstanceOf(UnparsedBody);
    const error = refusal(handed as UnparsedBody);
    expect(error).toBeInstanceOf(UnsupportedMediaTypeException);
    expect((error as UnsupportedMediaTypeException).getResponse()).toMatchObject({
      code: 'UnsupportedMediaType',
    });
  });
});
