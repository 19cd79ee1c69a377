import type {
  AttemptFailure,
  AttemptStore,
  LockEntry,
  LockKind,
  LockSubject,
} from './attempt-store';

interface Counter {
  count: number;
  expiresAt: number;
}

interface Lock {
  subject: LockSubject;
  expiresAt: number;
}

export interface MemoryAttemptStoreOptions {
  /** Failure counters kept per kind; beyond it the oldest is dropped. */
  maxCounters?: number;
  /** Locks kept per kind; beyond it the oldest is dropped (lifted early). */
  maxLocks?: number;
  now?: () => number;
}

/**
 * Counters, locks and bans in this process's memory: for a single instance, and for an
 * instance whose Redis fails (see `LockoutService`).
 *
 * Bounded, so that an attacker sending endless new keys or addresses cannot grow it without
 * limit: at most `maxCounters` counters and `maxLocks` locks per kind. A counter is about
 * 150 bytes and a lock at most about 1 KB (public key and address are clipped to 256
 * characters), so the defaults cap the whole store at about 70 MB; under normal traffic it
 * holds a handful of entries. When full, the oldest entry goes: dropping a counter forgets a
 * few failures, dropping a lock ends it early, and both cost the attacker more failures than
 * they save (every failure also counts against their address).
 *
 * Each map is kept in expiry order: JavaScript Maps iterate in insertion order, entries of one
 * kind all live for the same configured time, and an entry whose expiry changes is re-inserted
 * at the end. So expired entries are always at the front, and `sweep` removes them in time
 * proportional to their number, without timers.
 */
export class MemoryAttemptStore implements AttemptStore {
  private readonly counters: Record<LockKind, Map<string, Counter>> = {
    key: new Map(),
    address: new Map(),
  };
  private readonly locks: Record<LockKind, Map<string, Lock>> = {
    key: new Map(),
    address: new Map(),
  };
  private readonly maxCounters: number;
  private readonly maxLocks: number;
  private readonly now: () => number;

  constructor(options: MemoryAttemptStoreOptions = {}) {
    this.maxCounters = options.maxCounters ?? 100_000;
    this.maxLocks = options.maxLocks ?? 20_000;
    this.now = options.now ?? Date.now;
  }

  /** No counters and no locks (lets a caller skip this store on its hot path). */
  get isEmpty(): boolean {
    return (
      this.locks.key.size === 0 &&
      this.locks.address.size === 0 &&
      this.counters.key.size === 0 &&
      this.counters.address.size === 0
    );
  }

  mayHoldLocks(): boolean {
    const { key, address } = this.locks;
    if (key.size === 0 && address.size === 0) return false;
    const now = this.now();
    sweep(key, now);
    sweep(address, now);
    return key.size > 0 || address.size > 0;
  }

  /** Entries held, for tests and bounds checks. */
  get size(): { counters: number; locks: number } {
    return {
      counters: this.counters.key.size + this.counters.address.size,
      locks: this.locks.key.size + this.locks.address.size,
    };
  }

  remainingMs(subjects: readonly LockSubject[]): Promise<number[]> {
    const now = this.now();
    return Promise.resolve(
      subjects.map((subject) => {
        const locks = this.locks[subject.kind];
        const lock = locks.get(subject.id);
        if (!lock) return 0;
        if (lock.expiresAt <= now) {
          locks.delete(subject.id);
          return 0;
        }
        return lock.expiresAt - now;
      }),
    );
  }

  recordFailures(failures: readonly AttemptFailure[]): Promise<void> {
    const now = this.now();
    for (const { subject, rule } of failures) {
      const counters = this.counters[subject.kind];
      sweep(counters, now);
      let counter = counters.get(subject.id);
      if (!counter || counter.expiresAt <= now) {
        counters.delete(subject.id);
        counter = { count: 0, expiresAt: now + rule.windowMs };
        insertBounded(counters, subject.id, counter, this.maxCounters);
      }
      counter.count += 1;
      if (counter.count >= rule.attempts) {
        counters.delete(subject.id);
        const locks = this.locks[subject.kind];
        sweep(locks, now);
        locks.delete(subject.id); // re-inserted at the end: the map stays in expiry order
        insertBounded(
          locks,
          subject.id,
          { subject, expiresAt: now + rule.durationMs },
          this.maxLocks,
        );
      }
    }
    return Promise.resolve();
  }

  list(): Promise<LockEntry[]> {
    const now = this.now();
    const entries: LockEntry[] = [];
    for (const locks of Object.values(this.locks)) {
      sweep(locks, now);
      for (const { subject, expiresAt } of locks.values()) {
        entries.push({ ...subject, remainingMs: expiresAt - now });
      }
    }
    return Promise.resolve(entries);
  }

  lift(id: string): Promise<boolean> {
    const now = this.now();
    let lifted = false;
    for (const kind of ['key', 'address'] as const) {
      const lock = this.locks[kind].get(id);
      if (lock) {
        this.locks[kind].delete(id);
        lifted ||= lock.expiresAt > now;
      }
      this.counters[kind].delete(id);
    }
    return Promise.resolve(lifted);
  }
}

/** Removes the expired entries at the front of a map kept in expiry order. */
function sweep(map: Map<string, { expiresAt: number }>, now: number): void {
  for (const [id, entry] of map) {
    if (entry.expiresAt > now) return;
    map.delete(id);
  }
}

function insertBounded<T>(map: Map<string, T>, id: string, value: T, max: number): void {
  while (map.size >= max) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
  }
  map.set(id, value);
}
