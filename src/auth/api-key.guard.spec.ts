import type { IncomingMessage } from 'node:http';
import { ForbiddenException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { Block, LockoutService } from '../abuse/lockout.service';
import { AppConfig } from '../config/app-config';
import { DatabaseUnavailableException } from '../database/database-unavailable.exception';
import { rememberSettings, rememberSettingsFailure } from '../settings/request-settings';
import { SettingsService, SettingsView } from '../settings/settings.service';
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

/** What the guard asked the lock store, in order. */
type LockCall =
  | ['admit', string, string]
  | ['check', string, string | undefined]
  | ['recordDenial', unknown, string, string];

function guardWith(
  strategy: ReturnType<typeof scriptedStrategy>,
  locks: { mayBlock?: boolean; block?: Block; calls?: LockCall[] } = {},
): ApiKeyGuard {
  const settings = {
    current: () => Promise.resolve({ apiEnabled: true }),
  } as unknown as SettingsService;
  const config = { nodeEnv: 'development', authConcealReasons: false } as AppConfig;
  const calls = locks.calls ?? [];
  const lockouts = {
    mayBlock: () => locks.mayBlock ?? false,
    admit: (address: string, publicKey: string, attempt: () => unknown) => {
      calls.push(['admit', address, publicKey]);
      return attempt();
    },
    check: (address: string, publicKey?: string) => {
      calls.push(['check', address, publicKey]);
      return Promise.resolve(locks.block);
    },
    recordDenial: (error: unknown, publicKey: string, address: string) => {
      calls.push(['recordDenial', error, publicKey, address]);
      return Promise.resolve();
    },
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

function requestWith(authorization: string, method = 'GET') {
  return {
    headers: { authorization },
    raw: {},
    method,
    protocol: 'http',
    ip: '127.0.0.1',
  } as { headers: { authorization: string }; raw: object; user?: AuthenticatedUser };
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

  it("answers the failure of the OData hook's settings read, without a read of its own", () => {
    // The settings read here would succeed: the guard must not wait for another one.
    const guard = guardWith(scriptedStrategy((strategy) => strategy.success(userNamed('alice'))));
    const request = requestWith('Basic x');
    const failure = new DatabaseUnavailableException(new Error('Query read timeout'));
    rememberSettingsFailure(request.raw as IncomingMessage, failure);
    expect(() => guard.canActivate(contextFor(request))).toThrow(failure);
    expect(request.user).toBeUndefined();
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

describe('ApiKeyGuard without waiting', () => {
  const basic = (publicKey: string, secret: string) =>
    `Basic ${Buffer.from(`${publicKey}:${secret}`).toString('base64')}`;

  /** A request whose settings the OData hook has read already, as on every OData route. */
  function readRequest(authorization: string, method = 'GET') {
    const request = requestWith(authorization, method);
    rememberSettings(request.raw as IncomingMessage, { apiEnabled: true } as SettingsView);
    return request;
  }

  it('admits a success Passport reports at once with true, not a promise', () => {
    const guard = guardWith(scriptedStrategy((strategy) => strategy.success(userNamed('alice'))));
    const request = readRequest('Basic x');
    expect(guard.canActivate(contextFor(request))).toBe(true);
    expect(request.user?.name).toBe('alice');
  });

  it('waits for the lock lookup when a lock may be held, and refuses a locked key', async () => {
    const calls: LockCall[] = [];
    const block: Block = { reason: AuthResult.UserLocked, retryAfterSeconds: 60 };
    const guard = guardWith(
      scriptedStrategy((strategy) => strategy.success(userNamed('alice'))),
      { mayBlock: true, block, calls },
    );
    const request = readRequest(basic('alice', 'secret'));
    await expect(guard.canActivate(contextFor(request))).rejects.toMatchObject({
      reason: AuthResult.UserLocked,
      retryAfterSeconds: 60,
    });
    expect(calls).toEqual([
      ['admit', '127.0.0.1', 'alice'],
      ['check', '127.0.0.1', 'alice'],
    ]);
    expect(request.user).toBeUndefined();
  });

  it('counts a failure the strategy reports at once before it answers', async () => {
    const calls: LockCall[] = [];
    const denial = new AuthDeniedException(AuthResult.InvalidCredentials);
    const guard = guardWith(
      scriptedStrategy((strategy) => strategy.error(denial)),
      { calls },
    );
    await expect(guard.canActivate(contextFor(readRequest(basic('alice', 'wrong'))))).rejects.toBe(
      denial,
    );
    expect(calls).toEqual([
      ['admit', '127.0.0.1', 'alice'],
      ['recordDenial', denial, 'alice', '127.0.0.1'],
    ]);
  });

  it('still refuses a user without the role the method needs', async () => {
    const guard = guardWith(scriptedStrategy((strategy) => strategy.success(userNamed('alice'))));
    const attempt = Promise.resolve().then(() =>
      guard.canActivate(contextFor(readRequest('Basic x', 'POST'))),
    );
    await expect(attempt).rejects.toBeInstanceOf(ForbiddenException);
  });

  it('refuses while the API is switched off, whatever the credentials', async () => {
    const guard = guardWith(scriptedStrategy((strategy) => strategy.success(userNamed('alice'))));
    const request = requestWith('Basic x');
    rememberSettings(request.raw as IncomingMessage, { apiEnabled: false } as SettingsView);
    const attempt = Promise.resolve().then(() => guard.canActivate(contextFor(request)));
    await expect(attempt).rejects.toMatchObject({ reason: AuthResult.ApiDisabled });
    expect(request.user).toBeUndefined();
  });
});
