import { LRUCache } from 'lru-cache';
import type { AuthCachePolicy } from '../config/app-config';
import type { Change, ChangeSubscriber } from './change-feed.service';
import type { DatabaseStatus, WatchedRead } from './database-status';

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
interface Read<V> extends WatchedRead<V | null> {
  version: number;
}

/** What `readOrStale` saw first: the read's answer, its failure, or the database failing. */
type FirstOutcome<V> = { value: V | null } | { error: unknown } | { failing: true };

/**
 * A bounded cache in front of a database read, kept correct by the change feed:
 *
 * - fresh: an entry answers without a read while the feed listens and the entry is younger
 *   than `ttlMs` (a safety net should a notification ever be lost);
 * - invalidated: `delete`/`clear` on a notification, so a change applies to the next request;
 *   an entry dropped so is never answered again, not even stale;
 * - stale: an entry younger than `staleMs` answers when the database fails (DatabaseStatus,
 *   shared by the instance's caches: a read failed or has not answered in SLOW_READ_MS, and
 *   none has answered since). A request waiting for its entry's read stops waiting as soon as
 *   the database is found failing; while it is, such a request waits for no read at all, but
 *   for the one that finds out whether the database is back (at most one at a time, a second
 *   after the last failure; see PROBE_INTERVAL_MS), which waits SLOW_READ_MS at most. A key
 *   with no such entry waits for its read, and gets its error (503 upstream).
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

  constructor(
    private readonly feed: FeedState,
    /** Shared by every cache of the instance: a failure one of them finds spares them all. */
    private readonly database: DatabaseStatus,
    private readonly options: ReadThroughCacheOptions,
  ) {
    this.entries = new LRUCache({ max: options.maxEntries });
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  get(key: string, load: () => Promise<V | null>): Promise<V | null> {
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry && this.isFresh(entry, now)) return Promise.resolve(entry.value);
    if (!entry || !this.mayAnswerStale(entry, now)) return this.share(key, load, now).result;
    if (!this.feed.listening && !this.database.refusing) {
      // Nothing cached is trusted while the feed is down: a revocation made meanwhile was not
      // heard. Only reads that fail (the database down) let the entry answer; a slow one did
      // (found by review: a disabled key accepted while the LISTEN connection was away).
      return this.readOrStale(key, this.share(key, load, now), { whenSlow: false });
    }
    if (!this.database.mayRead()) {
      // Failing, and another read is finding out whether it is back, or one did a moment ago.
      this.options.onStale?.(this.database.error);
      return Promise.resolve(entry.value);
    }
    return this.readOrStale(key, this.share(key, load, now), { whenSlow: true });
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

  /** The read of `key` under way, if one started since the last notification; else a new one. */
  private share(key: string, load: () => Promise<V | null>, now: number): Read<V> {
    // A read that started before a notification may return the row as it was before it.
    const pending = this.reads.get(key);
    if (pending && pending.version === this.feed.version) return pending;
    const version = this.feed.version;
    const watched = this.database.watch(load);
    const read: Read<V> = {
      version,
      failing: watched.failing,
      result: watched.result.then((value) => this.keep(key, value, version, now)),
    };
    this.reads.set(key, read);
    const forget = () => {
      if (this.reads.get(key) === read) this.reads.delete(key);
    };
    // Also what handles a failure nobody awaits (the background read of `get`).
    read.result.then(forget, forget);
    return read;
  }

  /** Keeps what a read that started at `loadedAt`, at feed `version`, found for `key`. */
  private keep(key: string, value: V | null, version: number, loadedAt: number): V | null {
    // A notification during the read may be about this very row: keep nothing then, and touch
    // nothing either. The notification dropped what was cached; an entry there now was kept by
    // a read that started after it (one read per key and version), and deleting it cost a read
    // and, were the database to fail next, the stale answer (found by review).
    if (this.feed.version !== version) return value;
    if (value === null) this.entries.delete(key);
    else {
      const ttlMs = this.options.ttlMs * (1 - TTL_JITTER * this.random());
      this.entries.set(key, { value, loadedAt, freshUntil: loadedAt + ttlMs });
    }
    return value;
  }

  /**
   * What `read` finds, unless it fails (or, `whenSlow`, the database is found failing) first:
   * then the entry cached for `key`, if there still is one to answer stale (it may have been
   * invalidated meanwhile); otherwise the read's own outcome, however long it takes.
   */
  private async readOrStale(
    key: string,
    read: Read<V>,
    { whenSlow }: { whenSlow: boolean },
  ): Promise<V | null> {
    const outcome = read.result.then(
      (value): FirstOutcome<V> => ({ value }),
      (error: unknown): FirstOutcome<V> => ({ error }),
    );
    const first = whenSlow
      ? await Promise.race([outcome, read.failing.then(() => ({ failing: true as const }))])
      : await outcome;
    if ('value' in first) return first.value;
    // The feed lost while the read was slow: as above, only a failure lets the entry answer.
    if ('failing' in first && !this.feed.listening && !this.database.refusing) return read.result;
    const entry = this.entries.get(key);
    if (!entry || !this.mayAnswerStale(entry, this.now())) {
      if ('error' in first) throw first.error;
      return read.result;
    }
    this.options.onStale?.('error' in first ? first.error : this.database.error);
    return entry.value;
  }

  private isFresh(entry: Entry<V>, now: number): boolean {
    return this.feed.listening && now < entry.freshUntil;
  }

  private mayAnswerStale(entry: Entry<V>, now: number): boolean {
    return now - entry.loadedAt < this.options.staleMs;
  }
}

/**
 * A cache of one table's rows that follows the change feed: a change of that table drops the
 * keys it names (every key when it names none, as for the settings row or a TRUNCATE), and a
 * reset of the feed drops everything. How long entries answer comes from AUTH_CACHE_*.
 */
export function followingCache<V extends object>(
  feed: ChangeSource,
  database: DatabaseStatus,
  table: Change['table'],
  policy: AuthCachePolicy,
  options: { maxEntries: number; onStale?: (error: unknown) => void },
): ReadThroughCache<V> {
  const cache = new ReadThroughCache<V>(feed, database, {
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
