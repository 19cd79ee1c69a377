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
  /** A number in [0, 1) for each entry's TTL jitter (see TTL_JITTER); Math.random by default. */
  random?: () => number;
}

/** After a failed read, cached entries answer without trying the database for this long (ms). */
const DATABASE_BACKOFF_MS = 1000;

/**
 * Each entry's TTL is shortened by up to this share of `ttlMs`, at random: entries read in
 * the same second (every active key after a restart) would otherwise all expire, and be read
 * again, in the same second of every TTL, a burst of reads that does not spread out by itself.
 */
const TTL_JITTER = 0.1;

interface Entry<V> {
  value: V;
  loadedAt: number;
  /** Fresh (answering without a read) until then, while the feed listens. */
  freshUntil: number;
}

/** A read in progress, and the feed's version when it started. */
interface Read<V> {
  version: number;
  result: Promise<V | null>;
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
 * trying many unknown keys cannot evict the known ones). Requests for a key that is being read
 * share that read (one query when a busy key expires, not one per request in flight), unless
 * a notification arrived since it started.
 */
export class ReadThroughCache<V extends object> {
  private readonly entries: LRUCache<string, Entry<V>>;
  private readonly reads = new Map<string, Read<V>>();
  private readonly now: () => number;
  private readonly random: () => number;
  private databaseFailedUntil = 0;

  constructor(
    private readonly feed: FeedState,
    private readonly options: ReadThroughCacheOptions,
  ) {
    this.entries = new LRUCache({ max: options.maxEntries });
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  get(key: string, load: () => Promise<V | null>): Promise<V | null> {
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry) {
      if (this.isFresh(entry, now)) return Promise.resolve(entry.value);
      if (now < this.databaseFailedUntil && now - entry.loadedAt < this.options.staleMs) {
        return Promise.resolve(entry.value);
      }
    }
    // A read that started before a notification may return the row as it was before it.
    const pending = this.reads.get(key);
    if (pending && pending.version === this.feed.version) return pending.result;
    const read: Read<V> = { version: this.feed.version, result: this.read(key, entry, now, load) };
    this.reads.set(key, read);
    const forget = () => {
      if (this.reads.get(key) === read) this.reads.delete(key);
    };
    read.result.then(forget, forget);
    return read.result;
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
    this.reads.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.reads.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Reads `key`, keeps what it read, or answers `entry` stale when the database fails. */
  private async read(
    key: string,
    entry: Entry<V> | undefined,
    now: number,
    load: () => Promise<V | null>,
  ): Promise<V | null> {
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
    else if (this.feed.version === versionBefore) {
      const ttlMs = this.options.ttlMs * (1 - TTL_JITTER * this.random());
      this.entries.set(key, { value, loadedAt: now, freshUntil: now + ttlMs });
    } else this.entries.delete(key);
    return value;
  }

  private isFresh(entry: Entry<V>, now: number): boolean {
    return this.feed.listening && now < entry.freshUntil;
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
