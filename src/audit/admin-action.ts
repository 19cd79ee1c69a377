import { SetMetadata } from '@nestjs/common';
import type { Role } from '../api-users/api-user.entity';

export const AUDIT_ACTION = 'gatehouse:auditAction';

/**
 * Names the audit action of a route explicitly (`@AuditAction('lockouts.lift')`), instead of
 * the derived name; on any route, admin-only or not, and any method.
 */
export const AuditAction = (action: string) => SetMetadata(AUDIT_ACTION, action);

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the interceptor knows about a route, from its metadata. */
export interface RouteDescription {
  method: string;
  /** `@Controller()` path, e.g. `admin/api-users`. */
  controllerPath: string | undefined;
  /** The handler's own path, e.g. `/`, `:id`, `:id/secret`. */
  routePath: string | undefined;
  /** The handler method's name, e.g. `rotateSecret`. */
  handlerName: string;
  requiredRoles: Role[] | undefined;
  explicitAction: string | undefined;
}

/**
 * The audit action of a request, or undefined when it is not audited.
 *
 * Audited: every route with `@AuditAction`, and every non-read request (not GET, HEAD,
 * OPTIONS) to a route that requires the `admin` role (`@AdminOnly()`), so that admin
 * controllers added later are covered without touching them.
 *
 * The derived name is `<resource>.<verb>`. The resource is the controller path without its
 * leading `admin/`, slashes turned into dots (`admin/api-users` -> `api-users`). The verb is
 * `create` for a POST to the collection itself, `update`/`replace`/`delete` for a PATCH/PUT/
 * DELETE of the resource itself (no path, or only an `:id`), and otherwise the handler's name
 * in kebab case (`POST :id/secret` handled by `rotateSecret` -> `rotate-secret`).
 */
export function adminAction(route: RouteDescription): string | undefined {
  if (route.explicitAction) return route.explicitAction;
  if (!route.requiredRoles?.includes('admin') || READ_METHODS.has(route.method)) return undefined;
  const resource = trimSlashes(route.controllerPath ?? '')
    .replace(/^admin(\/|$)/, '')
    .replace(/\//g, '.');
  const path = trimSlashes(route.routePath ?? '');
  const onItself = path === '' || /^:[^/]+$/.test(path);
  let verb: string | undefined;
  if (route.method === 'POST' && path === '') verb = 'create';
  else if (onItself && route.method === 'PATCH') verb = 'update';
  else if (onItself && route.method === 'PUT') verb = 'replace';
  else if (onItself && route.method === 'DELETE') verb = 'delete';
  verb ??= kebabCase(route.handlerName);
  return resource === '' ? verb : `${resource}.${verb}`;
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[_\s]+/g, '-')
    .toLowerCase();
}
