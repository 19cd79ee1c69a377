import { BadRequestException } from '@nestjs/common';
import { entitySet } from './edm-model';
import { entityFieldsFromBody } from './odata-body';

const products = entitySet('Products');

function refusal(body: Record<string, unknown>): unknown {
  try {
    entityFieldsFromBody(products, body, 'update');
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return (error as BadRequestException).getResponse();
  }
  throw new Error('not refused');
}

describe('entityFieldsFromBody: strings', () => {
  it('refuses an unpaired surrogate, high or low, naming the property', () => {
    // JSON.parse('"\\ud800x"') makes one; it was written to the database as U+FFFD (review).
    for (const value of ['\ud800x', 'x\udc00', '\ude00\ud83d', 'end\udbff']) {
      expect(refusal({ Name: value })).toEqual({
        code: 'InvalidRequestBody',
        message: 'Name must not contain an unpaired UTF-16 surrogate',
        target: 'Name',
      });
    }
  });

  it('takes surrogate pairs: characters beyond the BMP', () => {
    const value = JSON.parse('"Tea \\ud83c\\udf75"') as string;
    expect(entityFieldsFromBody(products, { Name: value }, 'update')).toEqual({ name: 'Tea 🍵' });
  });
});
