import { IsOptional, IsString, Matches } from 'class-validator';
import type { Role } from '../api-user.entity';
import { IsRoleList } from './is-role-list.decorator';
import { IsUserName } from './is-user-name.decorator';
import { IsDailyQuotaField, IsRateLimitField, RateLimitDto } from './limits.dto';
import { PUBLIC_KEY_PATTERN, PUBLIC_KEY_RULE, SECRET_PATTERN, SECRET_RULE } from '../api-keys';

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
  secretKey?: string;

  /** Left out or null: RATE_LIMIT_REQUESTS applies; `{"requests": 0}`: no rate limit. */
  @IsRateLimitField()
  rateLimit?: RateLimitDto | null;

  /** Left out or null: DAILY_QUOTA applies; 0: no quota. */
  @IsDailyQuotaField()
  dailyQuota?: number | null;
}
