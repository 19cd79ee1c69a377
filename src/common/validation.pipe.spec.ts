import { BadRequestException } from '@nestjs/common';
import { IsInt, Min } from 'class-validator';
import { RequestValidationPipe } from './validation.pipe';

class PageDto {
  @IsInt()
  @Min(1)
  limit!: number;
}

async function refusal(type: 'body' | 'query', value: object): Promise<Record<string, unknown>> {
  const pipe = new RequestValidationPipe();
  const attempt = pipe.transform(value, { type, metatype: PageDto });
  await expect(attempt).rejects.toBeInstanceOf(BadRequestException);
  return (
    (await attempt.catch((error: unknown) => error)) as BadRequestException
  ).getResponse() as Record<string, unknown>;
}

describe('RequestValidationPipe', () => {
  it('answers an invalid body with InvalidRequestBody naming the field', async () => {
    expect(await refusal('body', { limit: 0 })).toMatchObject({
      code: 'InvalidRequestBody',
      target: 'limit',
      message: 'limit must not be less than 1',
    });
  });

  it('answers an invalid query string with InvalidQuery, with the same details', async () => {
    expect(await refusal('query', { limit: 0, page: 2 })).toEqual({
      code: 'InvalidQuery',
      target: 'page',
      message: 'page is not a known field; limit must not be less than 1',
      details: [
        { code: 'InvalidValue', target: 'page', message: 'page is not a known field' },
        { code: 'InvalidValue', target: 'limit', message: 'limit must not be less than 1' },
      ],
    });
  });

  it('refuses input nested more than 32 levels, before class-transformer recurses into it', async () => {
    const nested = (levels: number): unknown =>
      Array.from({ length: levels }).reduce<unknown>((inner) => [inner], 1);
    // 5000 levels overflowed class-transformer's stack: a 500.
    expect(await refusal('body', { limit: 1, deep: nested(5000) })).toEqual({
      code: 'InvalidRequestBody',
      message: 'The request body nests deeper than 32 levels.',
    });
    expect(await refusal('query', { limit: 1, deep: { a: nested(31) } })).toMatchObject({
      code: 'InvalidQuery',
    });
    // 32 levels (the root and 31 below it) are within the bound: refused only as unknown.
    expect(await refusal('body', { limit: 1, deep: nested(31) })).toMatchObject({
      message: 'deep is not a known field',
    });
  });

  it('refuses fields named like what every object inherits, as it refuses unknown ones', async () => {
    // class-validator's whitelist found them in a plain object and let them through.
    expect(await refusal('query', { limit: 1, toString: '1' })).toMatchObject({
      code: 'InvalidQuery',
      target: 'toString',
      message: 'toString is not a known field',
    });
    const body = JSON.parse('{"limit":1,"constructor":1,"nested":[{"__proto__":1}]}') as object;
    expect(await refusal('body', body)).toMatchObject({
      code: 'InvalidRequestBody',
      message: 'constructor is not a known field; nested[0].__proto__ is not a known field',
    });
  });

  it('passes valid input on, transformed to the DTO', async () => {
    const pipe = new RequestValidationPipe();
    const value = await pipe.transform({ limit: 5 }, { type: 'query', metatype: PageDto });
    expect(value).toBeInstanceOf(PageDto);
    expect(value).toEqual({ limit: 5 });
  });
});
