import type { Role } from '../api-users/api-user.entity';
import type { StoredLimits } from '../api-users/limits';

/** What the guard puts on `request.user` for the handlers. Never holds the secret. */
export interface AuthenticatedUser {
  id: string;
  name: string;
  publicKey: string;
  roles: Role[];
  /** The user's own limits as authentication read them (for the rate-limit guard). */
  limits: StoredLimits;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the Passport strategy once the credentials are verified. */
    user?: AuthenticatedUser;
  }
}
