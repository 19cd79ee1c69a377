import { AppConfig } from '../config/app-config';
import { AuthDeniedException } from './auth-denied.exception';
import { AUTH_RESULT_MESSAGES, AuthResult } from './auth-result';

export interface DenialResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string } };
}

type DenialConfig = Pick<
  AppConfig,
  'authRealm' | 'authResponseMode' | 'keepMasheryDefaultResponseCode' | 'authConcealReasons'
>;

/**
 * Reasons conceal mode reports as InvalidCredentials, so a caller cannot probe for keys. A lock
 * (6) becomes exactly a 3: 401 with the challenge (403 in mashery mode), no `Retry-After`,
 * since a 429 or a `Retry-After` would tell that the key was being guessed at. A ban (7) is
 * about the address, not the key, and stays 429.
 */
const CONCEALED = new Set([
  AuthResult.InvalidCredentials,
  AuthResult.UserUnknown,
  AuthResult.UserDisabled,
  AuthResult.UserLocked,
]);

/** Mashery answers these (and malformed headers) with 403 ERR_403_NOT_AUTHORIZED. */
const MASHERY_CREDENTIAL_FAILURES = new Set([
  AuthResult.InvalidAuthorizationHeader,
  AuthResult.InvalidCredentials,
  AuthResult.UserUnknown,
  AuthResult.UserDisabled,
]);

/** The status, headers and body for a denial, per CONTRACT.md section 3. */
export function denialResponse(denial: AuthDeniedException, config: DenialConfig): DenialResponse {
  const reason =
    config.authConcealReasons && CONCEALED.has(denial.reason)
      ? AuthResult.InvalidCredentials
      : denial.reason;
  const headers: Record<string, string> = {
    'Smartstore-Api-AuthResultId': String(reason),
    'Smartstore-Api-AuthResultDesc': AuthResult[reason],
  };
  const challenge = `Basic realm="${config.authRealm}", charset="UTF-8"`;
  let status: number;

  if (reason === AuthResult.SslRequired) {
    // No challenge: it would invite the client to send its secret in cleartext.
    status = 421;
  } else if (reason === AuthResult.UserLocked || reason === AuthResult.ClientBlocked) {
    status = 429;
    headers['Retry-After'] = String(denial.retryAfterSeconds ?? 60);
  } else if (config.authResponseMode === 'mashery' && MASHERY_CREDENTIAL_FAILURES.has(reason)) {
    if (denial.credentialsAbsent) {
      status = config.keepMasheryDefaultResponseCode ? 403 : 401;
    } else {
      status = 403;
      headers['X-Mashery-Error-Code'] = 'ERR_403_NOT_AUTHORIZED';
    }
  } else {
    status = 401;
  }
  if (status === 401) headers['WWW-Authenticate'] = challenge;

  return {
    status,
    headers,
    body: { error: { code: AuthResult[reason], message: AUTH_RESULT_MESSAGES[reason] } },
  };
}
