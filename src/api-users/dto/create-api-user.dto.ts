import { IsOptional, IsString, Matches, ValidateBy, ValidationArguments } from 'class-validator';
import type { Role } from '../api-user.entity';
import { IsRoleList } from './is-role-list.decorator';
import { IsUserName } from './is-user-name.decorator';
import { IsDailyQuotaField, IsRateLimitField, RateLimitDto } from './limits.dto';
import {
  CREDENTIALS_RULE,
  fitsAuthorizationHeader,
  GENERATED_PUBLIC_KEY_LENGTH,
  PUBLIC_KEY_PATTERN,
  PUBLIC_KEY_RULE,
  SECRET_PATTERN,
  SECRET_RULE,
} from '../api-keys';

/**
 * The secret, with the public key (the one imported, or a generated one's length), fits the
 * Authorization header: a secret of multi-byte characters within SECRET_PATTERN may not, and
 * its user could then never sign in. A public key that is itself invalid is not counted
 * (its own error says so).
 */
const FitsAuthorizationHeader = () =>
  ValidateBy({
    name: 'fitsAuthorizationHeader',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        if (typeof value !== 'string') return true;
        const { publicKey } = args?.object as { publicKey?: unknown };
        const counted =
          typeof publicKey === 'string' && PUBLIC_KEY_PATTERN.test(publicKey)
            ? publicKey
            : 'x'.repeat(GENERATED_PUBLIC_KEY_LENGTH);
        return fitsAuthorizationHeader(counted, value);
      },
      defaultMessage: () => `secretKey ${CREDENTIALS_RULE}`,
    },
  });

export class CreateApiUserDto {
  @IsUserName()
  name: string;

  /** Defaults to `["read"]`. */
  @IsOptional()
  @IsRoleList()
  roles?: Role[];

  /** Only to import an existing key (e.g. from Smartstore); generated otherwise. */
  @IsOptional()
  @IsString()
  @Matches(PUBLIC_KEY_PATTERN, { message: `publicKey ${PUBLIC_KEY_RULE}` })
  publicKey?: string;

  /** Only to import an existing secret; generated otherwise. */
  @IsOptional()
  @IsString()
  @Matches(SECRET_PATTERN, { message: `secretKey ${SECRET_RULE}` })
  @FitsAuthorizationHeader()
  secretKey?: string;

  /** Left out or null: RATE_LIMIT_REQUESTS applies; `{"requests": 0}`: no rate limit. */
  @IsRateLimitField()
  rateLimit?: RateLimitDto | null;

  /** Left out or null: DAILY_QUOTA applies; 0: no quota. */
  @IsDailyQuotaField()
  dailyQuota?: number | null;
}
