import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { Observable, tap } from 'rxjs';
import type { Role } from '../api-users/api-user.entity';
import { REQUIRED_ROLES } from '../auth/auth.decorators';
import { AUDIT_ACTION, adminAction } from './admin-action';
import { adminRecord } from './audit-record';
import { AuditService } from './audit.service';

/** A handler's audit action (undefined: not audited), per HTTP method. */
type ByMethod = Map<string, string | undefined>;

/**
 * Applied by each admin controller (through `@AdminApi()`), not globally: an interceptor wraps the
 * handler in an Observable pipeline, which on the OData routes would cost every request a tenth
 * of its time for nothing (measured with --cpu-prof, see the README's Performance section).
 * Records each admin action once its handler succeeded. A failed one
 * (400, 404, 409, ...) is not recorded: nothing changed. See `adminAction` for which routes
 * count and how they are named.
 */
@Injectable()
export class AdminAuditInterceptor implements NestInterceptor {
  /** Route metadata does not change: worked out once per controller, handler and method. */
  private readonly actions = new WeakMap<object, WeakMap<object, ByMethod>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const action = this.actionOf(context, request.method);
    if (action === undefined) return next.handle();
    let recorded = false;
    return next.handle().pipe(
      tap((answer) => {
        if (recorded) return;
        recorded = true;
        this.audit.record(adminRecord(action, request, answer));
      }),
    );
  }

  private actionOf(context: ExecutionContext, method: string): string | undefined {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.actions.get(controller);
    if (!byHandler) {
      byHandler = new WeakMap<object, ByMethod>();
      this.actions.set(controller, byHandler);
    }
    let byMethod = byHandler.get(handler);
    if (byMethod?.has(method)) return byMethod.get(method);
    const action = adminAction({
      method,
      controllerPath: this.reflector.get<string | undefined>(PATH_METADATA, controller),
      routePath: this.reflector.get<string | undefined>(PATH_METADATA, handler),
      handlerName: handler.name,
      requiredRoles: this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, [
        handler,
        controller,
      ]),
      explicitAction: this.reflector.get<string | undefined>(AUDIT_ACTION, handler),
    });
    if (!byMethod) {
      byMethod = new Map() as ByMethod;
      byHandler.set(handler, byMethod);
    }
    byMethod.set(method, action);
    return action;
  }
}
