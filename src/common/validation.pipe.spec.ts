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

  it('passes valid input on, transformed to the DTO', async () => {
    const pipe = new RequestValidationPipe();
    const value = await pipe.transform({ limit: 5 }, { type: 'query', metatype: PageDto });
    expect(value).toBeInstanceOf(PageDto);
    expect(value).toEqual({ limit: 5 });
  });
});
