import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { LockoutService } from '../abuse/lockout.service';
import { AppConfig } from '../config/app-config';
import { SettingsService } from '../settings/settings.service';
import { ApiKeyGuard } from './api-key.guard';
import { AuthDeniedException } from './auth-denied.exception';
import { AuthResult } from './auth-result';
import { AuthenticatedUser } from './authenticated-user';
import { BasicStrategy } from './basic.strategy';
import { CredentialsService } from './credentials.service';

/** What Passport gives a strategy for each request to report its outcome with. */
interface PassportActions {
  success(user: unknown): void;
  fail(challenge?: string, status?: number): void;
  redirect(url: string): void;
  pass(): void;
  error(error: Error): void;
}

/** A Passport strategy whose outcome the test chooses per request (from its header). */
function scriptedStrategy(outcome: (actions: PassportActions, header: string) => void) {
  return {
    name: 'scripted',
    authenticate(this: PassportActions, req: { headers: { authorization?: string } }): void {
      outcome(this, req.headers.authorization ?? '');
    },
  };
}

function userNamed(name: string): AuthenticatedUser {
  return {
    id: name,
    name,
    publicKey: name,
    roles: ['read'],
    limits: { rateLimitRequests: null, rateLimitWindowSeconds: null, dailyQuota: null },
  };
}

function guardWith(strategy: ReturnType<typeof scriptedStrategy>): ApiKeyGuard {
  const settings = {
    current: () => Promise.resolve({ apiEnabled: true }),
  } as unknown as SettingsService;
  const config = { nodeEnv: 'development', authConcealReasons: false } as AppConfig;
  const lockouts = {
    check: () => Promise.resolve(undefined),
    recordDenial: () => Promise.resolve(),
  } as unknown as LockoutService;
  return new ApiKeyGuard(
    new Reflector(),
    settings,
    config,
    lockouts,
    { recognise: () => undefined } as unknown as CredentialsService,
    strategy as unknown as BasicStrategy,
  );
}

class AnyController {
  handler(): void {}
}

function requestWith(authorization: string) {
  return {
    headers: { authorization },
    raw: {},
    method: 'GET',
    protocol: 'http',
    ip: '127.0.0.1',
  } as { headers: { authorization: string }; user?: AuthenticatedUser };
}

function contextFor(request: object) {
  // A reply Passport could not write to: it must never answer by itself.
  const reply = {};
  return new ExecutionContextHost(
    [request, reply, () => undefined],
    AnyController,
    AnyController.prototype.handler,
  );
}

describe('ApiKeyGuard running the Passport strategy', () => {
  it("admits the strategy's user and puts it on the request", async () => {
    const guard = guardWith(scriptedStrategy((strategy) => strategy.success(userNamed('alice'))));
    const request = requestWith('Basic x');
    await expect(guard.canActivate(contextFor(request))).resolves.toBe(true);
    expect(request.user?.name).toBe('alice');
  });

  it("passes the strategy's error on as it is", async () => {
    const denial = new AuthDeniedException(AuthResult.UserDisabled);
    const guard = guardWith(scriptedStrategy((strategy) => strategy.error(denial)));
    await expect(guard.canActivate(contextFor(requestWith('Basic x')))).rejects.toBe(denial);
  });

  it.each([
    ['fail()', (strategy: PassportActions) => strategy.fail('Basic realm="x"', 401)],
    ['redirect()', (strategy: PassportActions) => strategy.redirect('https://elsewhere.example/')],
    ['pass()', (strategy: PassportActions) => strategy.pass()],
  ])('answers a %s as invalid credentials, without Passport answering itself', async (_, act) => {
    const guard = guardWith(scriptedStrategy((strategy) => act(strategy)));
    const failure = guard.canActivate(contextFor(requestWith('Basic x')));
    await expect(failure).rejects.toBeInstanceOf(AuthDeniedException);
    await expect(failure).rejects.toMatchObject({ reason: AuthResult.InvalidCredentials });
  });

  it('keeps concurrent requests apart although the middleware is built once', async () => {
    // Each request is answered later, in the opposite order of arrival.
    const guard = guardWith(
      scriptedStrategy((strategy, header) => {
        const name = header.slice('Basic '.length);
        setTimeout(() => strategy.success(userNamed(name)), name === 'first' ? 20 : 1);
      }),
    );
    const first = requestWith('Basic first');
    const second = requestWith('Basic second');
    await Promise.all([
      guard.canActivate(contextFor(first)),
      guard.canActivate(contextFor(second)),
    ]);
    expect([first.user?.name, second.user?.name]).toEqual(['first', 'second']);
  });

  it('keeps each guard on its own strategy (no process-wide registry by name)', async () => {
    const alices = guardWith(scriptedStrategy((strategy) => strategy.success(userNamed('alice'))));
    const bobs = guardWith(scriptedStrategy((strategy) => strategy.success(userNamed('bob'))));
    const toAlices = requestWith('Basic x');
    const toBobs = requestWith('Basic x');
    await alices.canActivate(contextFor(toAlices));
    await bobs.canActivate(contextFor(toBobs));
    expect([toAlices.user?.name, toBobs.user?.name]).toEqual(['alice', 'bob']);
  });
});
