import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { BasicStrategy as PassportHttpBasicStrategy } from 'passport-http';
import { AuthDeniedException } from './auth-denied.exception';
import { AuthResult } from './auth-result';
import { AuthenticatedUser } from './authenticated-user';
import { basicCredentialsOf, WithHeaders } from './basic-credentials';
import { CredentialsService } from './credentials.service';

type Verified = (error: unknown, user?: AuthenticatedUser | false) => void;

/**
 * passport-http's Basic strategy with its header parsing replaced: passport-http 0.3 splits
 * the credentials at every colon (a secret `a:b` arrives as `a`), accepts any scheme that
 * contains "Basic" and decodes bytes leniently. Everything after parsing (the verify callback,
 * success/error) is passport's own.
 */
class Rfc7617BasicStrategy extends PassportHttpBasicStrategy {
  // Members passport-strategy gives every strategy; @types/passport-http does not declare them.
  declare _verify: (req: WithHeaders, publicKey: string, secret: string, done: Verified) => void;
  declare error: (error: Error) => void;
  declare success: (user: AuthenticatedUser) => void;

  authenticate(req: WithHeaders): void {
    const credentials = basicCredentialsOf(req);
    if (credentials.kind !== 'valid') {
      return this.error(
        new AuthDeniedException(
          AuthResult.InvalidAuthorizationHeader,
          credentials.kind === 'absent',
        ),
      );
    }
    // Always with the request first (passport-http's passReqToCallback, set below).
    this._verify(req, credentials.publicKey, credentials.secret, (error, user) => {
      if (error) return this.error(error as Error);
      if (!user) return this.error(new AuthDeniedException(AuthResult.InvalidCredentials));
      this.success(user);
    });
  }
}

@Injectable()
export class BasicStrategy extends PassportStrategy(Rfc7617BasicStrategy, 'basic') {
  constructor(private readonly credentials: CredentialsService) {
    super({ passReqToCallback: true });
  }

  /** A header that passed the full check before answers from that (CredentialsService.recognise). */
  authenticate(req: WithHeaders): void {
    const recognised = this.credentials.recognise(req);
    if (recognised) return this.success(this.credentials.admitRecognised(recognised));
    super.authenticate(req);
  }

  validate(req: WithHeaders, publicKey: string, secret: string): Promise<AuthenticatedUser> {
    return this.credentials.verify(publicKey, secret, req.headers.authorization);
  }
}
