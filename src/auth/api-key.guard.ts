import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import passport from 'passport';
import { clientAddress } from '../abuse/client-address';
import { LockoutService } from '../abuse/lockout.service';
import { AppConfig } from '../config/app-config';
import { rememberedSettings } from '../settings/request-settings';
import { SettingsService } from '../settings/settings.service';
import { AuthDeniedException } from './auth-denied.exception';
import { AuthResult } from './auth-result';
import { AuthenticatedUser } from './authenticated-user';
import { basicCredentialsOf } from './basic-credentials';
import { BasicStrategy } from './basic.strategy';
import { CredentialsService } from './credentials.service';
import { routeAuth } from './route-auth';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The global guard (APP_GUARD): every route but `@Public()` ones passes reasons 0 and 1 here,
 * then a ban on the client address (7), then the Passport Basic strategy (reasons 2-5) with a
 * lock on the key at that address (6) checked before it asks the database, then the role
 * check (403). Denials 3, 4 and 5 are counted towards locks and bans (src/abuse/).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly settings: SettingsService,
    private readonly config: AppConfig,
    private readonly lockouts: LockoutService,
    private readonly credentials: CredentialsService,
    private readonly strategy: BasicStrategy,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const route = routeAuth(this.reflector, context);
    if (route.isPublic) return true;

    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const settings = route.availableWhenApiDisabled
      ? undefined
      : (rememberedSettings(request.raw) ?? (await this.settings.current()));
    if (settings && !settings.apiEnabled) {
      throw new AuthDeniedException(AuthResult.ApiDisabled);
    }
    // request.protocol honours X-Forwarded-Proto only from proxies TRUST_PROXY names.
    if (this.config.nodeEnv === 'production' && request.protocol !== 'https') {
      throw new AuthDeniedException(AuthResult.SslRequired);
    }

    // Reasons 7 and 6 in one store lookup. An invalid header has no public key, so only a ban
    // can answer before its reason 2. (The strategy gets the same parse, not a second one.)
    const presented = basicCredentialsOf(request);
    const publicKey = presented.kind === 'valid' ? presented.publicKey : undefined;
    const address = clientAddress(request);
    const block = await this.lockouts.check(address, publicKey);
    if (block) {
      // Conceal mode answers a lock as a 3, so it does a 3's work too (CONTRACT.md 3).
      const concealed = block.reason === AuthResult.UserLocked && this.config.authConcealReasons;
      if (concealed && presented.kind === 'valid') {
        await this.credentials.verifyWithoutEffect(presented.publicKey, presented.secret);
      }
      throw new AuthDeniedException(block.reason, false, block.retryAfterSeconds);
    }
    let user: AuthenticatedUser;
    try {
      user = await this.authenticate(request, context.switchToHttp().getResponse());
    } catch (error) {
      // Awaited, so that the next request (on any instance) sees a lock this failure made.
      if (publicKey !== undefined) await this.lockouts.recordDenial(error, publicKey, address);
      throw error;
    }

    request.user = user;
    const required = route.requiredRoles ?? [SAFE_METHODS.has(request.method) ? 'read' : 'write'];
    if (!required.some((role) => user.roles.includes(role))) {
      throw new ForbiddenException({
        code: 'Forbidden',
        message: `This request needs the ${required.join(' or ')} role.`,
      });
    }
    return true;
  }

  /**
   * Runs this app's Basic strategy through passport. `AuthGuard('basic')` from @nestjs/passport
   * would look the strategy up by name in passport's process-wide registry, where the last app
   * created wins: with two instances in one process (the multi-instance tests), one app would
   * authenticate against the other's database. Passport takes a strategy object too; it gets a
   * fresh one per request (as passport does for named strategies), because passport attaches
   * the request's success/error callbacks to it.
   */
  private authenticate(request: FastifyRequest, reply: FastifyReply): Promise<AuthenticatedUser> {
    return new Promise((resolve, reject) => {
      const perRequest = Object.create(this.strategy) as BasicStrategy;
      const done = (error: Error | null, user: AuthenticatedUser | false) => {
        if (error) reject(error);
        // The strategy reports every failure as an error; a bare "no user" is still a denial.
        else if (!user) reject(new AuthDeniedException(AuthResult.InvalidCredentials));
        else resolve(user);
      };
      const middleware = passport.authenticate(perRequest, { session: false }, done) as (
        req: unknown,
        res: unknown,
        next: (error?: unknown) => void,
      ) => void;
      middleware(request, reply, reject);
    });
  }
}
