import type Redis from 'ioredis';
import type {
  AttemptFailure,
  AttemptStore,
  LockEntry,
  LockKind,
  LockSubject,
} from './attempt-store';
import { LOCK_ID_PATTERN } from './attempt-store';

/** Every key this store writes starts with this. */
export const REDIS_ABUSE_PREFIX = 'gatehouse:abuse:';

/**
 * Counts one failure against each subject, atomically. For subject i: KEYS[2i-1] is its
 * counter, KEYS[2i] its lock; ARGV[4i-3..4i] are attempts, window ms, lock ms and the lock's
 * description (JSON). The window opens with the first failure (INCR, then PEXPIRE on 1); the
 * failure that reaches `attempts` sets the lock with its own expiry and deletes the counter.
 */
const RECORD_FAILURES_SCRIPT = `
for i = 1, #KEYS / 2 do
  local counter, lock, a = KEYS[2 * i - 1], KEYS[2 * i], 4 * (i - 1)
  local count = redis.call('INCR', counter)
  if count == 1 then redis.call('PEXPIRE', counter, ARGV[a + 2]) end
  if count >= tonumber(ARGV[a + 1]) then
    redis.call('SET', lock, ARGV[a + 4], 'PX', ARGV[a + 3])
    redis.call('DEL', counter)
  end
end
return 0
`;

type WithRecordCommand = Redis & {
  gatehouseRecordFailures(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<0>;
};

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
 */
export class RedisAttemptStore implements AttemptStore {
  private readonly redis: WithRecordCommand;

  constructor(
    redis: Redis,
    private readonly prefix = REDIS_ABUSE_PREFIX,
  ) {
    redis.defineCommand('gatehouseRecordFailures', { lua: RECORD_FAILURES_SCRIPT });
    this.redis = redis as WithRecordCommand;
  }

  mayHoldLocks(): boolean {
    return true;
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
    await this.redis.gatehouseRecordFailures(keys.length, ...keys, ...args);
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
