import { ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import type { Role } from '../api-users/api-user.entity';
import { AppConfig } from '../config/app-config';
import { rememberedSettings } from '../settings/request-settings';
import { SettingsService } from '../settings/settings.service';
import { AuthDeniedException } from './auth-denied.exception';
import { AuthResult } from './auth-result';
import { AVAILABLE_WHEN_API_DISABLED, IS_PUBLIC, REQUIRED_ROLES } from './auth.decorators';
import { AuthenticatedUser } from './authenticated-user';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The global guard (APP_GUARD): every route but `@Public()` ones passes reasons 0 and 1 here,
 * then the Passport Basic strategy (reasons 2-5), then the role check (403).
 */
@Injectable()
export class ApiKeyGuard extends AuthGuard('basic') {
  constructor(
    private readonly reflector: Reflector,
    private readonly settings: SettingsService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;

    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const availableWhenDisabled = this.reflector.getAllAndOverride<boolean>(
      AVAILABLE_WHEN_API_DISABLED,
      targets,
    );
    const settings = availableWhenDisabled
      ? undefined
      : (rememberedSettings(request.raw) ?? (await this.settings.get()));
    if (settings && !settings.apiEnabled) {
      throw new AuthDeniedException(AuthResult.ApiDisabled);
    }
    // request.protocol honours X-Forwarded-Proto only from proxies TRUST_PROXY names.
    if (this.config.nodeEnv === 'production' && request.protocol !== 'https') {
      throw new AuthDeniedException(AuthResult.SslRequired);
    }

    await super.canActivate(context);

    const user = request.user!;
    const required = this.reflector.getAllAndOverride<Role[] | undefined>(
      REQUIRED_ROLES,
      targets,
    ) ?? [SAFE_METHODS.has(request.method) ? 'read' : 'write'];
    if (!required.some((role) => user.roles.includes(role))) {
      throw new ForbiddenException({
        code: 'Forbidden',
        message: `This request needs the ${required.join(' or ')} role.`,
      });
    }
    return true;
  }

  handleRequest<TUser = AuthenticatedUser>(error: Error | null, user: TUser | false): TUser {
    if (error) throw error;
    // The strategy reports every failure as an error; a bare "no user" is still a denial.
    if (!user) throw new AuthDeniedException(AuthResult.InvalidCredentials);
    return user;
  }
}
