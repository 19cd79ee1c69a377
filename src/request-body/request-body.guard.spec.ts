import { BadRequestException, ExecutionContext } from '@nestjs/common';
import { RequestBodyGuard } from './request-body.guard';
import { UnparsedBody } from './unparsed-body';

function contextFor(request: { body?: unknown }): ExecutionContext {
  return {
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

describe('RequestBodyGuard', () => {
  const guard = new RequestBodyGuard();

  it.each([
    ['no body', undefined],
    ['a body already parsed', { name: 'x' }],
    ['null', null],
  ])('lets a request with %s through as it is', (_, body) => {
    const request = { body };
    expect(guard.canActivate(contextFor(request))).toBe(true);
    expect(request.body).toBe(body);
  });

  it('parses a body the parsers only read, for the route', () => {
    const request: { body?: unknown } = { body: new UnparsedBody(() => ({ name: 'x' })) };
    expect(guard.canActivate(contextFor(request))).toBe(true);
    expect(request.body).toEqual({ name: 'x' });
  });

  it('throws the error of a body that cannot be parsed', () => {
    const error = new BadRequestException({ code: 'BadRequest', message: 'broken' });
    const unparsable = new UnparsedBody(() => {
      throw error;
    });
    expect(() => guard.canActivate(contextFor({ body: unparsable }))).toThrow(error);
  });
});
