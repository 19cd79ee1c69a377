import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { REDIS, RedisClient } from '../redis/redis.module';
import { UsageModule } from '../usage/usage.module';
import { RateLimitCounters } from './rate-limit-counters';
import { RateLimitGuard } from './rate-limit.guard';

/**
 * Per-API-user rate limits and daily quotas. Its APP_GUARD must run after AuthModule's, and
 * global guards run in the order their modules were imported: import this module after
 * AuthModule. Counters live in Redis when REDIS_URL is set, in memory otherwise.
 */
@Module({
  imports: [UsageModule],
  providers: [
    {
      provide: RateLimitCounters,
      inject: [REDIS],
      useFactory: (redis: RedisClient) => new RateLimitCounters(redis),
    },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
})
export class RateLimitModule {}
