import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { REDIS, RedisClient } from '../redis/redis.module';
import { ATTEMPT_STORES, LockoutService } from './lockout.service';
import type { AttemptStores } from './lockout.service';
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
      useFactory: async (redis: RedisClient): Promise<AttemptStores> => {
        if (!redis) return { primary: new MemoryAttemptStore() };
        const primary = new RedisAttemptStore(redis);
        await primary.listen();
        return { primary, fallback: new MemoryAttemptStore() };
      },
    },
    LockoutService,
  ],
  exports: [LockoutService],
})
export class AbuseModule implements OnApplicationShutdown {
  constructor(@Inject(ATTEMPT_STORES) private readonly stores: AttemptStores) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.stores.primary instanceof RedisAttemptStore) await this.stores.primary.close();
  }
}
