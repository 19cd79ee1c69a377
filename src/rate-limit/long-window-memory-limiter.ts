import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/** setTimeout's longest delay (2^31-1 ms, 24.8 days): a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** What this file uses of rate-limiter-flexible's MemoryStorage (11.x), which has no types. */
interface MemoryRecord {
  expiresAt: number | null;
  timeoutId: NodeJS.Timeout | null;
}
interface MemoryStorage {
  _storage: Map<string, MemoryRecord>;
  set(key: string, value: number, durationSec: number): RateLimiterRes;
}

/**
 * RateLimiterMemory with windows longer than setTimeout can wait (RATE_LIMIT_WINDOW_SECONDS and
 * the admin API allow 30 days). Its storage gives each key an `expiresAt`, which is what
 * counting checks, and a setTimeout that only deletes the key; a delay over MAX_TIMER_MS fires
 * at once, so a 30-day window was deleted at its first request (cutting the window to 24.8
 * days avoided that but reset the counter early). Here a key whose window is longer has its
 * `expiresAt` as usual and a deletion timer of at most MAX_TIMER_MS that, if the window is not
 * over yet, waits again: the key is never deleted before its window ends.
 *
 * The storage's `set` is wrapped on the instance (its class is not exported); `incrby`, which
 * every `consume` goes through, calls `this.set` for a new or ended window.
 */
export class LongWindowMemoryLimiter extends RateLimiterMemory {
  constructor(options: ConstructorParameters<typeof RateLimiterMemory>[0]) {
    super(options);
    const storage = (this as unknown as { _memoryStorage?: Partial<MemoryStorage> })._memoryStorage;
    if (typeof storage?.set !== 'function' || !(storage._storage instanceof Map)) {
      throw new Error('rate-limiter-flexible changed: RateLimiterMemory has no _memoryStorage');
    }
    capTimers(storage as MemoryStorage);
  }
}

function capTimers(storage: MemoryStorage): void {
  const set = storage.set.bind(storage);
  storage.set = (key, value, durationSec) => {
    const durationMs = durationSec * 1000;
    if (durationMs <= MAX_TIMER_MS) return set(key, value, durationSec);
    // Stored without an end (and without a timer; an older one is cleared), then given both.
    const result = set(key, value, 0);
    const record = storage._storage.get(key);
    if (record) {
      record.expiresAt = Date.now() + durationMs;
      deleteWhenEnded(storage, key, record);
    }
    return new RateLimiterRes(0, durationMs, result.consumedPoints, true);
  };
}

function deleteWhenEnded(storage: MemoryStorage, key: string, record: MemoryRecord): void {
  const msLeft = (record.expiresAt ?? 0) - Date.now();
  record.timeoutId = setTimeout(
    () => {
      // A new window replaces the record and clears its timer; this is a safeguard.
      if (storage._storage.get(key) !== record) return;
      if ((record.expiresAt ?? 0) > Date.now()) deleteWhenEnded(storage, key, record);
      else storage._storage.delete(key);
    },
    Math.min(Math.max(msLeft, 0), MAX_TIMER_MS),
  );
  record.timeoutId.unref();
}
