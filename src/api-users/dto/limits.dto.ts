import { applyDecorators } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsObject, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { MAX_LIMIT_REQUESTS, MAX_WINDOW_SECONDS } from '../limits';

const REQUESTS_RULE = `must be a whole number 0-${MAX_LIMIT_REQUESTS} (0: no limit)`;
const WINDOW_RULE = `must be a whole number of seconds 1-${MAX_WINDOW_SECONDS}`;

/** `{"requests": 100, "windowSeconds": 60}`; `requests` 0 switches the rate limit off. */
export class RateLimitDto {
  @IsInt({ message: `rateLimit.requests ${REQUESTS_RULE}` })
  @Min(0, { message: `rateLimit.requests ${REQUESTS_RULE}` })
  @Max(MAX_LIMIT_REQUESTS, { message: `rateLimit.requests ${REQUESTS_RULE}` })
  requests: number;

  /** Defaults to RATE_LIMIT_WINDOW_SECONDS (stored as it was when set). */
  @IsOptional()
  @IsInt({ message: `rateLimit.windowSeconds ${WINDOW_RULE}` })
  @Min(1, { message: `rateLimit.windowSeconds ${WINDOW_RULE}` })
  @Max(MAX_WINDOW_SECONDS, { message: `rateLimit.windowSeconds ${WINDOW_RULE}` })
  windowSeconds?: number;
}

/**
 * `rateLimit`: an object as above, or null for the environment's default. Left out: the
 * default on create, unchanged on update.
 */
export const IsRateLimitField = () =>
  applyDecorators(
    IsOptional(),
    IsObject({ message: 'rateLimit must be an object {"requests", "windowSeconds"} or null' }),
    ValidateNested(),
    Type(() => RateLimitDto),
  );

/** `dailyQuota`: requests per UTC day, 0 for none, or null for the environment's default. */
export const IsDailyQuotaField = () => {
  const message = `dailyQuota ${REQUESTS_RULE}, or null for the default`;
  return applyDecorators(
    IsOptional(),
    IsInt({ message }),
    Min(0, { message }),
    Max(MAX_LIMIT_REQUESTS, { message }),
  );
};
