import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { UnparsedBody } from './unparsed-body';

/**
 * The last global guard (APP_GUARD): parses the body the body parsers only read (see
 * UnparsedBody), now that the request is authenticated, authorised and within its rate limit,
 * so the route's `@Body()` gets the parsed value. A body that cannot be parsed throws its 400
 * or 415 here, and the filter answers it as it answered Fastify's own refusal before.
 */
@Injectable()
export class RequestBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ body?: unknown }>();
    if (request.body instanceof UnparsedBody) request.body = request.body.parse();
    return true;
  }
}
