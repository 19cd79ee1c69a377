import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { DeferredBodyError } from './deferred-body-error';

/**
 * The last global guard (APP_GUARD): answers the error of a body that could not be parsed,
 * which the body parsers kept as the request's body (see DeferredBodyError), now that the
 * request is authenticated, authorised and within its rate limit. The filter answers it as it
 * answered Fastify's own refusal before (400 `BadRequest`, 415 `UnsupportedMediaType`).
 */
@Injectable()
export class RequestBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const { body } = context.switchToHttp().getRequest<{ body?: unknown }>();
    if (body instanceof DeferredBodyError) throw body.error;
    return true;
  }
}
