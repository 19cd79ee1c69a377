import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { Role } from '../api-users/api-user.entity';
import { AVAILABLE_WHEN_API_DISABLED, IS_PUBLIC, REQUIRED_ROLES } from './auth.decorators';

/** What the auth decorators say about a route. */
export interface RouteAuth {
  isPublic: boolean;
  availableWhenApiDisabled: boolean;
  /** Undefined: `read` for GET/HEAD/OPTIONS, `write` otherwise. */
  requiredRoles: Role[] | undefined;
}

/**
 * Per handler: route metadata never changes, and reading it through the Reflector on every
 * request (three lookups on handler and class) was a measurable part of a request's cost.
 * Keyed by the handler function, which belongs to one controller class.
 */
const byHandler = new WeakMap<object, RouteAuth>();

export function routeAuth(reflector: Reflector, context: ExecutionContext): RouteAuth {
  const handler = context.getHandler();
  let found = byHandler.get(handler);
  if (!found) {
    const targets = [handler, context.getClass()];
    found = {
      isPublic: reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) ?? false,
      availableWhenApiDisabled:
        reflector.getAllAndOverride<boolean>(AVAILABLE_WHEN_API_DISABLED, targets) ?? false,
      requiredRoles: reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets),
    };
    byHandler.set(handler, found);
  }
  return found;
}
