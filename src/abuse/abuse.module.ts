import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { REDIS, RedisClient, START_WAIT_MS } from '../redis/redis.module';
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
        // The start waits for Redis at most START_WAIT_MS (RedisModule). A Redis that has not
        // answered the shared connection by then will not answer this one sooner: not waited
        // for again (the store looks locks up on every request until it listens).
        await primary.listen(redis.status === 'ready' ? START_WAIT_MS : 0);
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
