import { LRUCache } from 'lru-cache';
import type { AuthCachePolicy } from '../config/app-config';
import type { Change, ChangeSubscriber } from './change-feed.service';

/** What a cache needs to know of the change feed (see ChangeFeed). */
export interface FeedState {
  readonly listening: boolean;
  readonly version: number;
}

/** What `followingCache` needs of the change feed: its state and its announcements. */
export interface ChangeSource extends FeedState {
  subscribe(subscriber: ChangeSubscriber): void;
}

export interface ReadThroughCacheOptions {
  /** Entries answer without a database read for this long while the feed listens (ms); 0: never. */
  ttlMs: number;
  /** While the database fails, an entry read this recently (ms) still answers; 0: never. */
  staleMs: number;
  /** At most this many entries; the least recently used go first. */
  maxEntries: number;
  /** Told when an entry answers because the database failed (for a log line). */
  onStale?: (error: unknown) => void;
  now?: () => number;
}

/** After a failed read, cached entries answer without trying the database for this long (ms). */
const DATABASE_BACKOFF_MS = 1000;

interface Entry<V> {
  value: V;
  loadedAt: number;
}

/**
 * A bounded cache in front of a database read, kept correct by the change feed:
 *
 * - fresh: an entry answers without a read while the feed listens and the entry is younger
 *   than `ttlMs` (a safety net should a notification ever be lost);
 * - invalidated: `delete`/`clear` on a notification, so a change applies to the next request;
 * - stale: while reads fail (the database is down), an entry younger than `staleMs` still
 *   answers; a key with no entry gets the read's error (503 upstream). For a second after a
 *   failure, entries answer without trying the database, so that a database that hangs rather
 *   than refuses does not make every request wait for the connection timeout.
 *
 * Only values are cached; a key the database does not know is read every time (and someone
 * trying many unknown keys cannot evict the known ones).
 */
export class ReadThroughCache<V extends object> {
  private readonly entries: LRUCache<string, Entry<V>>;
  private readonly now: () => number;
  private databaseFailedUntil = 0;

  constructor(
    private readonly feed: FeedState,
    private readonly options: ReadThroughCacheOptions,
  ) {
    this.entries = new LRUCache({ max: options.maxEntries });
    this.now = options.now ?? Date.now;
  }

  async get(key: string, load: () => Promise<V | null>): Promise<V | null> {
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry) {
      if (this.isFresh(entry, now)) return entry.value;
      if (now < this.databaseFailedUntil && now - entry.loadedAt < this.options.staleMs) {
        return entry.value;
      }
    }
    const versionBefore = this.feed.version;
    let value: V | null;
    try {
      value = await load();
    } catch (error) {
      if (entry && now - entry.loadedAt < this.options.staleMs) {
        this.databaseFailedUntil = this.now() + DATABASE_BACKOFF_MS;
        this.options.onStale?.(error);
        return entry.value;
      }
      throw error;
    }
    this.databaseFailedUntil = 0;
    if (value === null) this.entries.delete(key);
    // A notification during the read may be about this very row: keep nothing then.
    else if (this.feed.version === versionBefore) this.entries.set(key, { value, loadedAt: now });
    else this.entries.delete(key);
    return value;
  }

  /**
   * The cached value for `key` when it is fresh, that is when `get` would answer with it
   * without a read; undefined otherwise (absent, past its TTL, or the feed not listening).
   * Never reads, never answers stale.
   */
  peekFresh(key: string): V | undefined {
    const entry = this.entries.get(key);
    return entry && this.isFresh(entry, this.now()) ? entry.value : undefined;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private isFresh(entry: Entry<V>, now: number): boolean {
    return this.feed.listening && now - entry.loadedAt < this.options.ttlMs;
  }
}

/**
 * A cache of one table's rows that follows the change feed: a change of that table drops the
 * keys it names (every key when it names none, as for the settings row or a TRUNCATE), and a
 * reset of the feed drops everything. How long entries answer comes from AUTH_CACHE_*.
 */
export function followingCache<V extends object>(
  feed: ChangeSource,
  table: Change['table'],
  policy: AuthCachePolicy,
  options: { maxEntries: number; onStale?: (error: unknown) => void },
): ReadThroughCache<V> {
  const cache = new ReadThroughCache<V>(feed, {
    ttlMs: policy.ttlSeconds * 1000,
    staleMs: policy.staleSeconds * 1000,
    ...options,
  });
  feed.subscribe({
    onChange: (change) => {
      if (change.table !== table) return;
      if (change.keys) for (const key of change.keys) cache.delete(key);
      else cache.clear();
    },
    onReset: () => cache.clear(),
  });
  return cache;
}
