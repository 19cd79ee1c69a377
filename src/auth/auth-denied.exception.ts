import { AuthResult } from './auth-result';

/**
 * A request that failed authentication. Not an `HttpException`: the status depends on the
 * response mode (Smartstore or Mashery) and is decided in one place, `ApiExceptionFilter`.
 */
export class AuthDeniedException extends Error {
  constructor(
    readonly reason: AuthResult,
    /** No Authorization header, or one of another scheme (Mashery answers those apart). */
    readonly credentialsAbsent = false,
    /** Seconds, for reasons that end on their own (6, 7). */
    readonly retryAfterSeconds?: number,
  ) {
    super(AuthResult[reason]);
    this.name = 'AuthDeniedException';
  }
}
