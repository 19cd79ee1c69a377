import { Injectable } from '@nestjs/common';
import { UNMATCHABLE_SECRET_HASH, verifySecret } from './secret-hash';

/**
 * Secret verification as an injectable, so that the equal-work rule of conceal mode (every
 * attempt verifies exactly one secret) can be checked by a unit test.
 */
@Injectable()
export class SecretHashService {
  /** Verifies against the stored hash, or against an unmatchable one when there is none. */
  verify(secret: string, storedHash: string | undefined): boolean {
    return verifySecret(secret, storedHash ?? UNMATCHABLE_SECRET_HASH);
  }
}
