import type { Role } from '../api-users/api-user.entity';

/** What the guard puts on `request.user` for the handlers. Never holds the secret. */
export interface AuthenticatedUser {
  id: string;
  name: string;
  publicKey: string;
  roles: Role[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the Passport strategy once the credentials are verified. */
    user?: AuthenticatedUser;
  }
}
