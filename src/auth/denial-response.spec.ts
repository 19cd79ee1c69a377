import { AuthDeniedException } from './auth-denied.exception';
import { AuthResult } from './auth-result';
import { denialResponse } from './denial-response';

type DenialConfig = Parameters<typeof denialResponse>[1];

const REALM = 'Test Realm';
const CHALLENGE = `Basic realm="${REALM}", charset="UTF-8"`;

const smartstore: DenialConfig = {
  authRealm: REALM,
  authResponseMode: 'smartstore',
  keepMasheryDefaultResponseCode: false,
  authConcealReasons: false,
};
const mashery: DenialConfig = { ...smartstore, authResponseMode: 'mashery' };
const masheryKeep: DenialConfig = { ...mashery, keepMasheryDefaultResponseCode: true };

const ALL_REASONS = [
  AuthResult.ApiDisabled,
  AuthResult.SslRequired,
  AuthResult.InvalidAuthorizationHeader,
  AuthResult.InvalidCredentials,
  AuthResult.UserUnknown,
  AuthResult.UserDisabled,
  AuthResult.UserLocked,
  AuthResult.ClientBlocked,
];

const NAMES: Record<AuthResult, string> = {
  [AuthResult.ApiDisabled]: 'ApiDisabled',
  [AuthResult.SslRequired]: 'SslRequired',
  [AuthResult.InvalidAuthorizationHeader]: 'InvalidAuthorizationHeader',
  [AuthResult.InvalidCredentials]: 'InvalidCredentials',
  [AuthResult.UserUnknown]: 'UserUnknown',
  [AuthResult.UserDisabled]: 'UserDisabled',
  [AuthResult.UserLocked]: 'UserLocked',
  [AuthResult.ClientBlocked]: 'ClientBlocked',
};

const deny = (reason: AuthResult, credentialsAbsent = false, retryAfterSeconds?: number) =>
  new AuthDeniedException(reason, credentialsAbsent, retryAfterSeconds);

describe('denialResponse', () => {
  describe('smartstore mode', () => {
    it.each([
      AuthResult.ApiDisabled,
      AuthResult.InvalidAuthorizationHeader,
      AuthResult.InvalidCredentials,
      AuthResult.UserUnknown,
      AuthResult.UserDisabled,
    ])('answers reason %i with 401 and the Basic challenge', (reason) => {
      const response = denialResponse(deny(reason), smartstore);
      expect(response.status).toBe(401);
      expect(response.headers).toEqual({
        'Smartstore-Api-AuthResultId': String(reason),
        'Smartstore-Api-AuthResultDesc': NAMES[reason],
        'WWW-Authenticate': CHALLENGE,
      });
    });

    it('answers a missing header (credentials absent) with 401, reason 2 and the challenge', () => {
      const response = denialResponse(
        deny(AuthResult.InvalidAuthorizationHeader, true),
        smartstore,
      );
      expect(response.status).toBe(401);
      expect(response.headers['WWW-Authenticate']).toBe(CHALLENGE);
      expect(response.headers['Smartstore-Api-AuthResultId']).toBe('2');
      expect(response.headers).not.toHaveProperty('X-Mashery-Error-Code');
    });

    it('answers SslRequired (1) with 421 and no challenge', () => {
      const response = denialResponse(deny(AuthResult.SslRequired), smartstore);
      expect(response.status).toBe(421);
      expect(response.headers).toEqual({
        'Smartstore-Api-AuthResultId': '1',
        'Smartstore-Api-AuthResultDesc': 'SslRequired',
      });
    });

    it.each([AuthResult.UserLocked, AuthResult.ClientBlocked])(
      'answers reason %i with 429, Retry-After and no challenge',
      (reason) => {
        const response = denialResponse(deny(reason, false, 17), smartstore);
        expect(response.status).toBe(429);
        expect(response.headers).toEqual({
          'Smartstore-Api-AuthResultId': String(reason),
          'Smartstore-Api-AuthResultDesc': NAMES[reason],
          'Retry-After': '17',
        });
      },
    );

    it.each([AuthResult.UserLocked, AuthResult.ClientBlocked])(
      'gives reason %i a positive whole-second Retry-After even when none was supplied',
      (reason) => {
        const response = denialResponse(deny(reason), smartstore);
        expect(response.status).toBe(429);
        expect(response.headers['Retry-After']).toMatch(/^[1-9]\d*$/);
      },
    );

    it('puts the configured realm in the challenge', () => {
      const response = denialResponse(deny(AuthResult.InvalidCredentials), {
        ...smartstore,
        authRealm: 'Another.Realm',
      });
      expect(response.headers['WWW-Authenticate']).toBe(
        'Basic realm="Another.Realm", charset="UTF-8"',
      );
    });
  });

  describe.each([
    ['smartstore', smartstore],
    ['mashery', mashery],
    ['mashery keeping its default code', masheryKeep],
    ['conceal', { ...smartstore, authConcealReasons: true }],
  ])('in %s mode, every denial', (_label, config) => {
    it.each(ALL_REASONS)(
      'carries the AuthResult headers and an error body (reason %i)',
      (reason) => {
        for (const absent of [false, true]) {
          const response = denialResponse(deny(reason, absent, 30), config);
          const id = response.headers['Smartstore-Api-AuthResultId'];
          expect(id).toMatch(/^[0-7]$/);
          const shown = Number(id) as AuthResult;
          expect(response.headers['Smartstore-Api-AuthResultDesc']).toBe(NAMES[shown]);
          expect(response.body).toEqual({
            error: { code: NAMES[shown], message: expect.any(String) },
          });
          expect(response.body.error.message.length).toBeGreaterThan(0);
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
          // Every 401, and only a 401, carries the challenge.
          if (response.status === 401) {
            expect(response.headers['WWW-Authenticate']).toBe(CHALLENGE);
          } else {
            expect(response.headers).not.toHaveProperty('WWW-Authenticate');
          }
        }
      },
    );
  });

  describe('mashery mode', () => {
    it('answers a missing or non-Basic header with 401 and the challenge', () => {
      const response = denialResponse(deny(AuthResult.InvalidAuthorizationHeader, true), mashery);
      expect(response.status).toBe(401);
      expect(response.headers).toEqual({
        'Smartstore-Api-AuthResultId': '2',
        'Smartstore-Api-AuthResultDesc': 'InvalidAuthorizationHeader',
        'WWW-Authenticate': CHALLENGE,
      });
    });

    it('answers a missing header with 403, no challenge and no error code when keeping the default response code', () => {
      const response = denialResponse(
        deny(AuthResult.InvalidAuthorizationHeader, true),
        masheryKeep,
      );
      expect(response.status).toBe(403);
      expect(response.headers).toEqual({
        'Smartstore-Api-AuthResultId': '2',
        'Smartstore-Api-AuthResultDesc': 'InvalidAuthorizationHeader',
      });
    });

    it.each([
      [mashery, 'default'],
      [masheryKeep, 'keepMasheryDefaultResponseCode'],
    ] as const)(
      '(%#, %s) answers credential failures with 403 ERR_403_NOT_AUTHORIZED',
      (config, _variant) => {
        for (const reason of [
          AuthResult.InvalidAuthorizationHeader,
          AuthResult.InvalidCredentials,
          AuthResult.UserUnknown,
          AuthResult.UserDisabled,
        ]) {
          const response = denialResponse(deny(reason), config);
          expect(response.status).toBe(403);
          expect(response.headers).toEqual({
            'Smartstore-Api-AuthResultId': String(reason),
            'Smartstore-Api-AuthResultDesc': NAMES[reason],
            'X-Mashery-Error-Code': 'ERR_403_NOT_AUTHORIZED',
          });
          expect(response.body.error.code).toBe(NAMES[reason]);
        }
      },
    );

    it('keeps ApiDisabled at 401 with the challenge', () => {
      for (const config of [mashery, masheryKeep]) {
        const response = denialResponse(deny(AuthResult.ApiDisabled), config);
        expect(response.status).toBe(401);
        expect(response.headers['WWW-Authenticate']).toBe(CHALLENGE);
        expect(response.headers).not.toHaveProperty('X-Mashery-Error-Code');
        expect(response.headers['Smartstore-Api-AuthResultId']).toBe('0');
      }
    });

    it('keeps SslRequired at 421 without a challenge', () => {
      const response = denialResponse(deny(AuthResult.SslRequired), mashery);
      expect(response.status).toBe(421);
      expect(response.headers).not.toHaveProperty('WWW-Authenticate');
      expect(response.headers).not.toHaveProperty('X-Mashery-Error-Code');
    });

    it('keeps lockouts at 429 with Retry-After', () => {
      for (const reason of [AuthResult.UserLocked, AuthResult.ClientBlocked]) {
        const response = denialResponse(deny(reason, false, 42), mashery);
        expect(response.status).toBe(429);
        expect(response.headers['Retry-After']).toBe('42');
        expect(response.headers).not.toHaveProperty('X-Mashery-Error-Code');
      }
    });

    it('reports concealed reasons as InvalidCredentials with 403 when conceal is also on', () => {
      const response = denialResponse(deny(AuthResult.UserUnknown), {
        ...mashery,
        authConcealReasons: true,
      });
      expect(response.status).toBe(403);
      expect(response.headers['Smartstore-Api-AuthResultId']).toBe('3');
      expect(response.headers['Smartstore-Api-AuthResultDesc']).toBe('InvalidCredentials');
      expect(response.headers['X-Mashery-Error-Code']).toBe('ERR_403_NOT_AUTHORIZED');
    });
  });

  describe('conceal mode', () => {
    const conceal: DenialConfig = { ...smartstore, authConcealReasons: true };
    const asInvalidCredentials = denialResponse(deny(AuthResult.InvalidCredentials), smartstore);

    it.each([
      AuthResult.InvalidCredentials,
      AuthResult.UserUnknown,
      AuthResult.UserDisabled,
      AuthResult.UserLocked,
    ])('reports reason %i exactly as InvalidCredentials (3, 401)', (reason) => {
      const response = denialResponse(deny(reason, false, 120), conceal);
      expect(response.status).toBe(401);
      expect(response.headers).toEqual({
        'Smartstore-Api-AuthResultId': '3',
        'Smartstore-Api-AuthResultDesc': 'InvalidCredentials',
        'WWW-Authenticate': CHALLENGE,
      });
      expect(response.body).toEqual(asInvalidCredentials.body);
      expect(response.body.error.code).toBe('InvalidCredentials');
    });

    it.each([
      [AuthResult.ApiDisabled, 401],
      [AuthResult.SslRequired, 421],
      [AuthResult.InvalidAuthorizationHeader, 401],
    ])('leaves reason %i alone (status %i)', (reason, status) => {
      const response = denialResponse(deny(reason), conceal);
      expect(response.status).toBe(status);
      expect(response.headers['Smartstore-Api-AuthResultId']).toBe(String(reason));
      expect(response.headers['Smartstore-Api-AuthResultDesc']).toBe(NAMES[reason]);
      expect(response.body.error.code).toBe(NAMES[reason]);
      expect(response).toEqual(denialResponse(deny(reason), smartstore));
    });

    it('answers a lock (6) exactly as a 3 in mashery mode too: 403, no Retry-After', () => {
      const masheryConceal: DenialConfig = { ...mashery, authConcealReasons: true };
      const locked = denialResponse(deny(AuthResult.UserLocked, false, 120), masheryConceal);
      expect(locked).toEqual(denialResponse(deny(AuthResult.InvalidCredentials), masheryConceal));
      expect(locked.status).toBe(403);
      expect(locked.headers).not.toHaveProperty('Retry-After');
    });

    it('leaves ClientBlocked (7, about the address, not the key) at 429', () => {
      const response = denialResponse(deny(AuthResult.ClientBlocked, false, 9), conceal);
      expect(response.status).toBe(429);
      expect(response.headers['Smartstore-Api-AuthResultId']).toBe('7');
      expect(response.headers['Retry-After']).toBe('9');
    });

    it('does not conceal anything when switched off', () => {
      const response = denialResponse(deny(AuthResult.UserUnknown), smartstore);
      expect(response.headers['Smartstore-Api-AuthResultId']).toBe('4');
      expect(response.body.error.code).toBe('UserUnknown');
    });
  });

  describe('body', () => {
    it.each(ALL_REASONS)(
      'is {error: {code, message}} with code = the reason name (%i)',
      (reason) => {
        const { body } = denialResponse(deny(reason, false, 5), smartstore);
        expect(Object.keys(body)).toEqual(['error']);
        expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
        expect(body.error.code).toBe(NAMES[reason]);
        expect(typeof body.error.message).toBe('string');
        expect(body.error.message.trim()).not.toBe('');
      },
    );

    it('gives each reason its own message', () => {
      const messages = ALL_REASONS.map(
        (reason) => denialResponse(deny(reason, false, 5), smartstore).body.error.message,
      );
      expect(new Set(messages).size).toBe(ALL_REASONS.length);
    });
  });
});
