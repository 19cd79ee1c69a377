import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { settledWithin } from '../common/settled-within';
import { AppConfig } from '../config/app-config';

/**
 * The Redis connection shared by the abuse-resistance features (counters, locks, bans, rate
 * limits), or null when REDIS_URL is unset and they keep their state in memory.
 */
export const REDIS = Symbol('REDIS');
export type RedisClient = Redis | null;

/**
 * At start, how long to wait for the first connection to Redis before going on without it (ms).
 * The lock announcements' connection (`AbuseModule`) is bounded by it too.
 */
export const START_WAIT_MS = 1000;

/**
 * ioredis 5.9.2 leaves its `socketTimeout` timer armed when the connection closes with a command
 * outstanding, and when it fires it destroys whatever connection the client has by then: the new,
 * healthy one made since (found by review: a connection killed by Redis was replaced within 60 ms
 * and dropped again 800 ms later, failing a command). Cleared at each close; the timer is
 * ioredis's own field, so this is tied to the pinned version (package.json).
 */
export function clearSocketTimeoutOnClose(client: Redis): void {
  const internals = client as unknown as { socketTimeoutTimer?: NodeJS.Timeout };
  client.on('close', () => {
    clearTimeout(internals.socketTimeoutTimer);
    internals.socketTimeoutTimer = undefined;
  });
}

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
          // ...nor every request after the first: a connection that has left a command without
          // an answer this long is dropped (ioredis reconnects as after any loss), so Redis is
          // not ready and the next commands fail at once and are counted in memory. Without it
          // every command would wait its 1 s for as long as the connection stays open. Shorter
          // than the command timeout, so that the connection is gone when the waiting command
          // fails and the same request's next command (the quota after the rate) does not wait.
          socketTimeout: 900,
          // A command that was waiting when its connection was dropped has failed at its
          // timeout and been counted in memory instead; sent again it would count twice.
          autoResendUnfulfilledCommands: false,
          // How long a disconnect waits for the socket to close before destroying it (default
          // 2 s). ioredis 5 arms that wait on a socket that has already closed too (a
          // disconnect while it waits to reconnect, i.e. while Redis is away), and nothing
          // clears it: a process that closed the app lived on for 2 s more (ioredis 6.1 ends
          // such a client without it). Disconnects happen at shutdown (and in ioredis after a
          // protocol error, to reconnect), where dropping a socket that is slow to close costs
          // nothing. The lock-announcement subscriber is a duplicate() and gets this too.
          disconnectTimeout: 100,
        });
        const logger = new Logger('Redis');
        client.on('error', (error: Error) => logger.warn(error.message));
        clearSocketTimeoutOnClose(client);
        // Gatehouse starts whether Redis answers or not: while it does not, locks and rate
        // limits are counted in this instance's memory, and ioredis keeps reconnecting. The
        // start waits for the first connection only briefly, so that a Redis that answers is
        // ready for the first request.
        let failure: string | undefined;
        const connecting = client.connect().catch((error: Error) => {
          failure = error.message;
        });
        await settledWithin(connecting, START_WAIT_MS);
        // Said at once, not when ioredis gives up on this connection: against a Redis that
        // accepts connections and stays silent that takes seconds, and 10 s against an
        // address that drops packets.
        if (client.status !== 'ready') {
          const { host, port, db } = client.options;
          logger.warn(
            `REDIS_URL: Redis at ${host}:${port} (database ${db ?? 0}) does not answer ` +
              `(${failure ?? `no answer within ${START_WAIT_MS} ms`}); ` +
              "starting without it: failed attempts and rate limits are counted in this instance's memory until it answers",
          );
        }
        return client;
      },
    },
  ],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisClient) {}

  async onApplicationShutdown(): Promise<void> {
    // QUIT fails while Redis does not answer; then stop reconnecting without it.
    const redis = this.redis;
    await redis?.quit().catch(() => redis.disconnect());
  }
}
