import { IsBoolean } from 'class-validator';
import { IsOptionalButNotNull } from '../../common/is-present.decorator';
import type { Role } from '../api-user.entity';
import { IsRoleList } from './is-role-list.decorator';
import { IsUserName } from './is-user-name.decorator';
import { IsDailyQuotaField, IsRateLimitField, RateLimitDto } from './limits.dto';

export class UpdateApiUserDto {
  @IsOptionalButNotNull()
  @IsUserName()
  name?: string;

  @IsOptionalButNotNull()
  @IsRoleList()
  roles?: Role[];

  @IsOptionalButNotNull()
  @IsBoolean()
  enabled?: boolean;

  /** Left out: unchanged; null: back to RATE_LIMIT_REQUESTS; `{"requests": 0}`: no rate limit. */
  @IsRateLimitField()
  rateLimit?: RateLimitDto | null;

  /** Left out: unchanged; null: back to DAILY_QUOTA; 0: no quota. */
  @IsDailyQuotaField()
  dailyQuota?: number | null;
}
