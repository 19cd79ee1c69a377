import { BadRequestException, ExecutionContext } from '@nestjs/common';
import { DeferredBodyError } from './deferred-body-error';
import { RequestBodyGuard } from './request-body.guard';

function contextWithBody(body: unknown): ExecutionContext {
  return {
    switchToHttp: () => ({ getRequest: () => ({ body }) }),
  } as unknown as ExecutionContext;
}

describe('RequestBodyGuard', () => {
  const guard = new RequestBodyGuard();

  it.each([
    ['no body', undefined],
    ['a parsed body', { name: 'x' }],
    ['null', null],
  ])('lets a request with %s through', (_, body) => {
    expect(guard.canActivate(contextWithBody(body))).toBe(true);
  });

  it('throws the error deferred by the body parser', () => {
    const error = new BadRequestException({ code: 'BadRequest', message: 'broken' });
    expect(() => guard.canActivate(contextWithBody(new DeferredBodyError(error)))).toThrow(error);
  });
});
