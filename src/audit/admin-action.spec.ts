import { adminAction, RouteDescription } from './admin-action';

const route = (overrides: Partial<RouteDescription>): RouteDescription => ({
  method: 'POST',
  controllerPath: 'admin/api-users',
  routePath: '/',
  handlerName: 'create',
  requiredRoles: ['admin'],
  explicitAction: undefined,
  ...overrides,
});

describe('adminAction', () => {
  it.each([
    ['POST', 'admin/api-users', '/', 'create', 'api-users.create'],
    ['PATCH', 'admin/api-users', ':id', 'update', 'api-users.update'],
    ['PUT', 'admin/api-users', ':id', 'put', 'api-users.replace'],
    ['DELETE', 'admin/api-users', ':id', 'remove', 'api-users.delete'],
    ['POST', 'admin/api-users', ':id/secret', 'rotateSecret', 'api-users.rotate-secret'],
    ['PATCH', 'admin/settings', '/', 'update', 'settings.update'],
    ['POST', '/admin/lockouts/', ':key/lift', 'lift', 'lockouts.lift'],
    ['DELETE', 'admin/lockouts', ':key', 'lift', 'lockouts.delete'],
    ['POST', 'admin', 'reindex', 'reindexAll', 'reindex-all'],
  ])('%s %s/%s (%s) is %s', (method, controllerPath, routePath, handlerName, expected) => {
    expect(adminAction(route({ method, controllerPath, routePath, handlerName }))).toBe(expected);
  });

  it.each(['GET', 'HEAD', 'OPTIONS'])('does not audit %s', (method) => {
    expect(adminAction(route({ method }))).toBeUndefined();
  });

  it('does not audit routes that do not require the admin role', () => {
    expect(adminAction(route({ requiredRoles: undefined }))).toBeUndefined();
    expect(adminAction(route({ requiredRoles: ['write'] }))).toBeUndefined();
  });

  it('takes an explicit @AuditAction name on any route', () => {
    expect(
      adminAction(
        route({ explicitAction: 'lockout.lift', requiredRoles: undefined, method: 'GET' }),
      ),
    ).toBe('lockout.lift');
  });
});
