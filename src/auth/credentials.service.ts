import { Injectable } from '@nestjs/common';
import { ApiUsersService, UserForAuthentication } from '../api-users/api-users.service';
import { LastRequestService } from '../api-users/last-request.service';
import { DatabaseUnavailableException } from '../database/database-unavailable.exception';
import { AuthDeniedException } from './auth-denied.exception';
import { AuthResult } from './auth-result';
import { AuthenticatedUser } from './authenticated-user';
import { SecretHashService } from './secret-hash.service';

/** Checks a public key and secret against the stored API users (reasons 4, 5, 3 in order). */
@Injectable()
export class CredentialsService {
  constructor(
    private readonly apiUsers: ApiUsersService,
    private readonly lastRequests: LastRequestService,
    private readonly secrets: SecretHashService,
  ) {}

  async verify(publicKey: string, secret: string): Promise<AuthenticatedUser> {
    const user = await this.find(publicKey);
    // The secret is checked in every case, so that unknown, disabled and wrong-secret
    // answers all cost the same work (conceal mode relies on it).
    const secretMatches = this.secrets.verify(secret, user?.secretHash);
    if (!user) throw new AuthDeniedException(AuthResult.UserUnknown);
    if (!user.enabled) throw new AuthDeniedException(AuthResult.UserDisabled);
    if (!secretMatches) throw new AuthDeniedException(AuthResult.InvalidCredentials);
    this.lastRequests.touch(user.id);
    return { id: user.id, name: user.name, publicKey: user.publicKey, roles: user.roles };
  }

  /**
   * The work of `verify` (the lookup and one secret check) without its outcome or effects:
   * for a locked key in conceal mode, whose answer must take as long as a wrong secret's.
   * A database failure still answers 503, as it would for `verify`.
   */
  async verifyWithoutEffect(publicKey: string, secret: string): Promise<void> {
    const user = await this.find(publicKey);
    this.secrets.verify(secret, user?.secretHash);
  }

  private async find(publicKey: string): Promise<UserForAuthentication | null> {
    try {
      return await this.apiUsers.findForAuthentication(publicKey);
    } catch (error) {
      // A database failure must never read as a credential failure.
      throw new DatabaseUnavailableException(error);
    }
  }
}
