import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';

/**
 * The Redis connection shared by the abuse-resistance features (counters, locks, bans, rate
 * limits), or null when REDIS_URL is unset and they keep their state in memory.
 */
export const REDIS = Symbol('REDIS');
export type RedisClient = Redis | null;

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [AppConfig],
      useFactory: async (config: AppConfig): Promise<RedisClient> => {
        if (!config.redisUrl) return null;
        const client = new Redis(config.redisUrl, {
          lazyConnect: true,
          // Fail a command quickly while Redis is away rather than queueing it for ever.
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          // A Redis that accepts connections but does not answer must not stall requests.
          commandTimeout: 1000,
        });
        client.on('error', (error: Error) => new Logger('Redis').warn(error.message));
        await client.connect();
        return client;
      },
    },
  ],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.quit().catch(() => undefined);
  }
}
