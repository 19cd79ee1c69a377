import { Module } from '@nestjs/common';
import { REDIS, RedisClient } from '../redis/redis.module';
import { ATTEMPT_STORES, AttemptStores, LockoutService } from './lockout.service';
import { LockoutsController } from './lockouts.controller';
import { MemoryAttemptStore } from './memory-attempt-store';
import { RedisAttemptStore } from './redis-attempt-store';

/**
 * Abuse resistance: counting failed attempts, locks (reason 6) and bans (reason 7), and their
 * admin API. Imported by `AuthModule`, whose guard asks `LockoutService` on every request.
 */
@Module({
  controllers: [LockoutsController],
  providers: [
    {
      provide: ATTEMPT_STORES,
      inject: [REDIS],
      useFactory: (redis: RedisClient): AttemptStores =>
        redis
          ? { primary: new RedisAttemptStore(redis), fallback: new MemoryAttemptStore() }
          : { primary: new MemoryAttemptStore() },
    },
    LockoutService,
  ],
  exports: [LockoutService],
})
export class AbuseModule {}
