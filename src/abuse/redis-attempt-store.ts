import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type {
  AttemptFailure,
  AttemptStore,
  LockEntry,
  LockKind,
  LockSubject,
} from './attempt-store';
import { LOCK_ID_PATTERN } from './attempt-store';
import { settledWithin } from '../common/settled-within';
import { clearSocketTimeoutOnClose } from '../redis/redis.module';

/** Every key this store writes starts with this. */
export const REDIS_ABUSE_PREFIX = 'gatehouse:abuse:';

/**
 * Counts one failure against each subject, atomically. For subject i: KEYS[2i-1] is its
 * counter, KEYS[2i] its lock; ARGV[4i-3..4i] are attempts, window ms, lock ms and the lock's
 * description (JSON). The window opens with the first failure (INCR, then PEXPIRE on 1); the
 * failure that reaches `attempts` sets the lock with its own expiry and deletes the counter.
 * A lock set also makes the last key (the any-lock key) last at least as long, and is
 * announced on the channel named by the last ARGV with its duration. Returns the longest
 * duration of a lock set (0: none).
 */
const RECORD_FAILURES_SCRIPT = `
local longest = 0
for i = 1, (#KEYS - 1) / 2 do
  local counter, lock, a = KEYS[2 * i - 1], KEYS[2 * i], 4 * (i - 1)
  local count = redis.call('INCR', counter)
  if count == 1 then redis.call('PEXPIRE', counter, ARGV[a + 2]) end
  if count >= tonumber(ARGV[a + 1]) then
    redis.call('SET', lock, ARGV[a + 4], 'PX', ARGV[a + 3])
    redis.call('DEL', counter)
    longest = math.max(longest, tonumber(ARGV[a + 3]))
  end
end
if longest > 0 then
  local anyLock = KEYS[#KEYS]
  if redis.call('PTTL', anyLock) < longest then
    redis.call('SET', anyLock, '1', 'PX', longest)
  end
  redis.call('PUBLISH', ARGV[#ARGV], longest)
end
return longest
`;

type WithRecordCommand = Redis & {
  gatehouseRecordFailures(
    numberOfKeys: number,
    ...keysAndArgs: (string | number)[]
  ): Promise<number>;
};

/** The name (CLIENT SETNAME) of each instance's connection that listens to lock announcements. */
export const ANNOUNCEMENTS_CONNECTION_NAME = 'gatehouse-lock-announcements';

/** While the lock announcements cannot be listened to, trying again this often (ms). */
const RELISTEN_MS = 1000;

/** What a lock key holds: enough to list it. Never a secret. */
interface StoredLock {
  kind: LockKind;
  publicKey?: string;
  address: string;
}

/**
 * Counters, locks and bans in Redis, shared by every instance on the same `REDIS_URL`:
 * `<prefix>fail:<id>` counts failures (expires with its window), `<prefix>lock:<id>` is a lock
 * or ban (expires with it). A lookup is one PTTL per subject in one pipeline; counting one
 * failure is one script (EVALSHA) for both subjects.
 *
 * Almost never is anything locked, and a lookup per request is a Redis round trip per request
 * (it halved the hot key's throughput, measured). So every lock set is announced: the script
 * publishes its duration on `<prefix>locked`, and keeps `<prefix>any-lock` alive at least as
 * long as the longest lock. Each instance listens (`listen`, on a connection of its own) and
 * knows until when a lock set anywhere may last; until then it looks up, after that it answers
 * "no lock" without asking. Lifting a lock does not shorten that time (lookups go on finding
 * nothing until it ends). Until it listens, and whenever its listening connection is down, an
 * instance looks up every time, as it did before. The announcement leaves Redis together with
 * the script's reply, so another instance learns of a lock about when the client that caused
 * it gets its answer; a request already past its lookup there is not held back.
 */
export class RedisAttemptStore implements AttemptStore {
  private readonly redis: WithRecordCommand;
  private readonly logger = new Logger('RedisAttemptStore');
  private subscriber?: Redis;
  private listening = false;
  private relistenTimer?: NodeJS.Timeout;
  /** Epoch ms (this process's clock) until which a lock set anywhere may last. */
  private locksMayLastUntil = 0;

  constructor(
    redis: Redis,
    private readonly prefix = REDIS_ABUSE_PREFIX,
  ) {
    redis.defineCommand('gatehouseRecordFailures', { lua: RECORD_FAILURES_SCRIPT });
    this.redis = redis as WithRecordCommand;
  }

  /**
   * Starts listening to the lock announcements on a connection of its own, and reading how long
   * the longest current lock may last. Resolves once listening, once that failed (the store
   * then looks up every time until it listens), or after `waitMs`, whichever comes first: a
   * Redis that accepts connections and never answers, or an address that drops packets, would
   * otherwise hold up the start until ioredis gives up (4 s of handshake timeouts, or its 10 s
   * connect timeout). Listening goes on meanwhile; until it succeeds, lookups are made.
   */
  async listen(waitMs: number): Promise<void> {
    const subscriber = this.redis.duplicate({
      lazyConnect: true,
      enableOfflineQueue: true,
      connectionName: ANNOUNCEMENTS_CONNECTION_NAME,
    });
    this.subscriber = subscriber;
    clearSocketTimeoutOnClose(subscriber);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.mayLast(Number(message));
    });
    subscriber.on('close', () => {
      this.listening = false;
    });
    // The shared connection logs Redis's failures; this one would only repeat them.
    subscriber.on('error', () => undefined);
    const first = subscriber.connect().then(
      () => this.catchUp(),
      (error: unknown) => {
        if (this.subscriber === subscriber) {
          this.logger.warn(`Not listening to lock announcements yet: ${String(error)}`);
        }
      },
    );
    // After every reconnection (ioredis keeps trying): announcements made meanwhile were lost.
    // Registered once the first connection has settled, which catches up itself.
    void first.finally(() => subscriber.on('ready', () => void this.catchUp()));
    await settledWithin(first, waitMs);
  }

  async close(): Promise<void> {
    clearTimeout(this.relistenTimer);
    this.listening = false;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    await subscriber?.quit().catch(() => subscriber.disconnect());
  }

  mayHoldLocks(): boolean {
    return !this.listening || Date.now() < this.locksMayLastUntil;
  }

  async remainingMs(subjects: readonly LockSubject[]): Promise<number[]> {
    if (subjects.length === 1) {
      return [toRemaining(await this.redis.pttl(this.lockKey(subjects[0].id)))];
    }
    const pipeline = this.redis.pipeline();
    for (const subject of subjects) pipeline.pttl(this.lockKey(subject.id));
    return (await execPipeline(pipeline)).map((ms) => toRemaining(ms as number));
  }

  async recordFailures(failures: readonly AttemptFailure[]): Promise<void> {
    if (failures.length === 0) return;
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (const { subject, rule } of failures) {
      keys.push(this.counterKey(subject.id), this.lockKey(subject.id));
      const stored: StoredLock = {
        kind: subject.kind,
        publicKey: subject.publicKey,
        address: subject.address,
      };
      args.push(rule.attempts, rule.windowMs, rule.durationMs, JSON.stringify(stored));
    }
    keys.push(this.anyLockKey);
    args.push(this.channel);
    // Its own lock counts at once, not when its own announcement comes back.
    this.mayLast(await this.redis.gatehouseRecordFailures(keys.length, ...keys, ...args));
  }

  async list(): Promise<LockEntry[]> {
    const entries: LockEntry[] = [];
    const pattern = `${this.prefix}lock:*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = this.redis.pipeline();
      for (const key of keys) pipeline.get(key).pttl(key);
      const results = await execPipeline(pipeline);
      keys.forEach((key, i) => {
        const entry = toEntry(key.slice(pattern.length - 1), results[2 * i], results[2 * i + 1]);
        if (entry) entries.push(entry);
      });
    } while (cursor !== '0');
    return entries;
  }

  async lift(id: string): Promise<boolean> {
    if (!LOCK_ID_PATTERN.test(id)) return false;
    const [deleted] = await execPipeline(
      this.redis.pipeline().del(this.lockKey(id)).del(this.counterKey(id)),
    );
    return deleted === 1;
  }

  /**
   * Subscribes and reads how long the longest lock may last, in that order, so that no lock
   * set in between is missed. On failure, tries again later.
   */
  private async catchUp(): Promise<void> {
    const subscriber = this.subscriber;
    if (!subscriber) return;
    clearTimeout(this.relistenTimer);
    try {
      await subscriber.subscribe(this.channel);
      this.mayLast(await this.redis.pttl(this.anyLockKey));
      this.listening = this.subscriber === subscriber && subscriber.status === 'ready';
    } catch {
      this.listening = false;
      if (this.subscriber === subscriber) {
        this.relistenTimer = setTimeout(() => void this.catchUp(), RELISTEN_MS).unref();
      }
    }
  }

  /** A lock may last `ms` more (0 or less: nothing). */
  private mayLast(ms: number): void {
    if (ms > 0) this.locksMayLastUntil = Math.max(this.locksMayLastUntil, Date.now() + ms);
  }

  private get channel(): string {
    return `${this.prefix}locked`;
  }

  private get anyLockKey(): string {
    return `${this.prefix}any-lock`;
  }

  private lockKey(id: string): string {
    return `${this.prefix}lock:${id}`;
  }

  private counterKey(id: string): string {
    return `${this.prefix}fail:${id}`;
  }
}

/** PTTL answers -2 for no key and -1 for a key without expiry (never written by this store). */
function toRemaining(ms: number): number {
  return ms > 0 ? ms : 0;
}

async function execPipeline(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

function toEntry(id: string, value: unknown, ttl: unknown): LockEntry | undefined {
  if (typeof value !== 'string' || typeof ttl !== 'number' || ttl <= 0) return undefined;
  if (!LOCK_ID_PATTERN.test(id)) return undefined;
  let stored: Partial<StoredLock>;
  try {
    stored = JSON.parse(value) as Partial<StoredLock>;
  } catch {
    return undefined;
  }
  if ((stored.kind !== 'key' && stored.kind !== 'address') || typeof stored.address !== 'string') {
    return undefined;
  }
  return {
    id,
    kind: stored.kind,
    ...(stored.kind === 'key' && typeof stored.publicKey === 'string'
      ? { publicKey: stored.publicKey }
      : {}),
    address: stored.address,
    remainingMs: ttl,
  };
}
