import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import passport from 'passport';
import { clientAddress } from '../abuse/client-address';
import { Block, LockoutService } from '../abuse/lockout.service';
import { AppConfig } from '../config/app-config';
import { rememberedSettings, rememberedSettingsFailure } from '../settings/request-settings';
import { SettingsService, SettingsView } from '../settings/settings.service';
import { requestScheme } from '../common/request-scheme';
import { AuthDeniedException } from './auth-denied.exception';
import { AuthResult } from './auth-result';
import { AuthenticatedUser } from './authenticated-user';
import { basicCredentialsOf } from './basic-credentials';
import { BasicStrategy } from './basic.strategy';
import { CredentialsService } from './credentials.service';
import { RouteAuth, routeAuth } from './route-auth';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const BASIC_STRATEGY = 'basic';

function validPublicKey(request: FastifyRequest): string | undefined {
  const presented = basicCredentialsOf(request);
  return presented.kind === 'valid' ? presented.publicKey : undefined;
}

type PassportMiddleware = (req: unknown, res: unknown, next: (error?: Error) => void) => void;
type PassportOutcome = { user: AuthenticatedUser } | { error: Error };

/**
 * The global guard (APP_GUARD): every route but `@Public()` ones passes reasons 0 and 1 here,
 * then a ban on the client address (7), then the Passport Basic strategy (reasons 2-5) with a
 * lock on the key at that address (6) checked before it asks the database, then the role
 * check (403). Denials 3, 4 and 5 are counted towards locks and bans (src/abuse/).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly passportBasic: PassportMiddleware;

  constructor(
    private readonly reflector: Reflector,
    private readonly settings: SettingsService,
    private readonly config: AppConfig,
    private readonly lockouts: LockoutService,
    private readonly credentials: CredentialsService,
    strategy: BasicStrategy,
  ) {
    // An Authenticator of this app's own rather than passport's process-wide one, where the
    // last app to register 'basic' would win: with two instances in one process (the
    // multi-instance tests) one app would authenticate against the other's database.
    // The middleware is built once. Building it per request (passport.authenticate() on every
    // call) was the most expensive part of authentication: it made every young-generation GC
    // several times longer (measured: scavenges of 5-11 ms instead of about 1 ms, p99 latency
    // tripled), for closures passport re-creates for each call.
    const passportInstance = new passport.Authenticator();
    passportInstance.use(BASIC_STRATEGY, strategy);
    this.passportBasic = passportInstance.authenticate(BASIC_STRATEGY, {
      session: false,
      failWithError: true,
      assignProperty: 'user',
      authInfo: false,
    }) as PassportMiddleware;
  }

  /**
   * Synchronous while nothing needs waiting for: settings already read for this request (the
   * OData hook reads them), no lock held anywhere, a header verified before (Passport then
   * answers at once). Nest awaits only a guard's promise, and an async guard's promises and
   * microtask turns were a large part of what authentication cost a request (README,
   * Performance). Every other case continues in a promise; the rules are the same either way.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const route = routeAuth(this.reflector, context);
    if (route.isPublic) return true;

    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (route.availableWhenApiDisabled) return this.checkRequest(route, request);
    const settings = rememberedSettings(request.raw);
    if (settings) return this.checkRequest(route, request, settings);
    // The hook's read failed a moment ago: reading again would wait for the database again.
    const failure = rememberedSettingsFailure(request.raw);
    if (failure) throw failure.error;
    return this.settings.current().then((current) => this.checkRequest(route, request, current));
  }

  /** Reasons 1 and 0, then the ban and lock (7, 6), the credentials (2-5) and the roles (403). */
  private checkRequest(
    route: RouteAuth,
    request: FastifyRequest,
    settings?: SettingsView,
  ): boolean | Promise<boolean> {
    if (settings && !settings.apiEnabled) {
      throw new AuthDeniedException(AuthResult.ApiDisabled);
    }
    // request.protocol honours X-Forwarded-Proto only from proxies TRUST_PROXY names.
    if (this.config.nodeEnv === 'production' && requestScheme(request.protocol) !== 'https') {
      throw new AuthDeniedException(AuthResult.SslRequired);
    }

    // A header verified before gives its key without a parse; any other is parsed here, once
    // (the strategy gets the same parse, not a second one).
    const address = clientAddress(request);
    const recognised = this.credentials.recognise(request);
    if (recognised) return this.attempt(route, request, recognised.publicKey, address);
    const publicKey = validPublicKey(request);
    // Only credentials that may fail are counted, so only they wait for their turn (see
    // LockoutService.admit): a recognised header passes, an invalid one is a 2.
    if (publicKey === undefined) return this.attempt(route, request, undefined, address);
    return this.lockouts.admit(address, publicKey, () =>
      this.attempt(route, request, publicKey, address),
    );
  }

  /**
   * Reasons 7 and 6 in one store lookup, then the credentials and roles. An invalid header has
   * no public key, so only a ban can answer before its reason 2.
   */
  private attempt(
    route: RouteAuth,
    request: FastifyRequest,
    publicKey: string | undefined,
    address: string,
  ): boolean | Promise<boolean> {
    if (!this.lockouts.mayBlock()) {
      return this.authenticateAndAuthorise(route, request, publicKey, address);
    }
    return this.lockouts
      .check(address, publicKey)
      .then((block) =>
        block
          ? this.refuse(block, request)
          : this.authenticateAndAuthorise(route, request, publicKey, address),
      );
  }

  private async refuse(block: Block, request: FastifyRequest): Promise<never> {
    // Conceal mode answers a lock as a 3, so it does a 3's work too (CONTRACT.md 3).
    const concealed = block.reason === AuthResult.UserLocked && this.config.authConcealReasons;
    const presented = basicCredentialsOf(request);
    if (concealed && presented.kind === 'valid') {
      await this.credentials.verifyWithoutEffect(presented.publicKey, presented.secret);
    }
    throw new AuthDeniedException(block.reason, false, block.retryAfterSeconds);
  }

  private authenticateAndAuthorise(
    route: RouteAuth,
    request: FastifyRequest,
    publicKey: string | undefined,
    address: string,
  ): boolean | Promise<boolean> {
    const authenticated = this.authenticate(request);
    if (!(authenticated instanceof Promise)) return this.authorise(route, request, authenticated);
    return authenticated.then(
      (user) => this.authorise(route, request, user),
      async (error: unknown) => {
        // Awaited, so that the next request (on any instance) sees a lock this failure made.
        if (publicKey !== undefined) await this.lockouts.recordDenial(error, publicKey, address);
        throw error;
      },
    );
  }

  /** Passport has put the user on request.user (assignProperty), for the handlers. */
  private authorise(route: RouteAuth, request: FastifyRequest, user: AuthenticatedUser): true {
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
   * Runs the Basic strategy through this app's Passport middleware (built once, see the
   * constructor). A success Passport reports at once (a header verified before) is returned as
   * it is; any other outcome, and every failure, comes in a promise. The strategy reports every
   * failure as an error. Passport gets a stand-in for the response: should a strategy `fail()`
   * or `redirect()`, Passport would write its own 401 or 302 to it; here that becomes a denial
   * like any other, answered by the one filter.
   */
  private authenticate(request: FastifyRequest): AuthenticatedUser | Promise<AuthenticatedUser> {
    let outcome: PassportOutcome | undefined;
    let deliver: ((outcome: PassportOutcome) => void) | undefined;
    const finish = (result: PassportOutcome) => (deliver ? deliver(result) : (outcome = result));
    const denied = () => ({ error: new AuthDeniedException(AuthResult.InvalidCredentials) });
    const response = { statusCode: 0, setHeader: () => undefined, end: () => finish(denied()) };
    this.passportBasic(request, response, (error) => {
      // passport's own AuthenticationError comes from a fail() (failWithError).
      if (error?.name === 'AuthenticationError') finish(denied());
      else if (error) finish({ error });
      else finish(request.user ? { user: request.user } : denied());
    });
    if (!outcome) {
      return new Promise((resolve, reject) => {
        deliver = (result) => ('user' in result ? resolve(result.user) : reject(result.error));
      });
    }
    return 'user' in outcome ? outcome.user : Promise.reject(outcome.error);
  }
}
