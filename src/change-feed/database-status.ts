/**
 * A read that has not answered in this long (ms) counts as the database failing. A lookup by
 * primary key answers in a millisecond or two; one still out after a quarter of a second is
 * waiting for a connection, a server or a network that does not answer, and would otherwise
 * hold its requests for the pool's connection timeout (3 s) or its query timeout (15 s).
 */
export const SLOW_READ_MS = 250;

/**
 * While the database fails, a new read (to find out whether it is back) goes out at most this
 * long (ms) after the last failure, and never while another is out: a database that refuses
 * at once would otherwise get a connection attempt for every request.
 */
export const PROBE_INTERVAL_MS = 1000;

/** A database read being watched (see `DatabaseStatus.watch`). */
export interface WatchedRead<T> {
  result: Promise<T>;
  /**
   * Resolves as soon as the database is found failing while this read is out: it failed, it
   * has not answered within SLOW_READ_MS, or another read failed. Never, if it answers first.
   * Requests that have something else to answer with stop waiting for the read then.
   */
  failing: Promise<void>;
}

/**
 * Whether the database is failing, as the read-through caches see it: one notion for the whole
 * instance (ChangeFeedModule provides one), so that a failure one cache's read finds spares the
 * requests of every cache the wait. Every request reads the settings, then its user: with a
 * notion each, the two caches took turns finding the same hung database, and every request
 * waited for one of them (found by review: 2-6 s each, with the database frozen).
 *
 * Failing from a failed read, or from one that has not answered in SLOW_READ_MS, until a read
 * answers.
 */
export class DatabaseStatus {
  private isFailing = false;
  private hasRefused = false;
  private lastError: unknown;
  private failedAt = -Infinity;
  private inFlight = 0;
  /** The `failing` of each read in flight that has not resolved yet. */
  private readonly unreleased = new Set<() => void>();

  constructor(private readonly now: () => number = Date.now) {}

  get failing(): boolean {
    return this.isFailing;
  }

  /**
   * Whether a read has failed (rather than only been slow) since the last one that answered:
   * the database is down for this instance, not merely slow. The caches answer stale for
   * slowness only while the change feed listens (see ReadThroughCache).
   */
  get refusing(): boolean {
    return this.hasRefused;
  }

  /** What made the database count as failing (for a log line). */
  get error(): unknown {
    return this.lastError;
  }

  /**
   * Whether a read should go to the database: always while it is not failing; while it is,
   * only as the one read that finds out whether it is back (see PROBE_INTERVAL_MS).
   */
  mayRead(): boolean {
    return (
      !this.isFailing || (this.inFlight === 0 && this.now() - this.failedAt >= PROBE_INTERVAL_MS)
    );
  }

  /** Runs `load`, a database read, and learns from it whether the database is failing. */
  watch<T>(load: () => Promise<T>): WatchedRead<T> {
    let release!: () => void;
    const failing = new Promise<void>((resolve) => (release = resolve));
    this.unreleased.add(release);
    this.inFlight++;
    // Once failing, the first cause is the one worth logging, not that the next read is slow.
    const timer = setTimeout(
      () =>
        this.fail(
          this.isFailing
            ? this.lastError
            : new Error(`The database has not answered a read in ${SLOW_READ_MS} ms`),
        ),
      SLOW_READ_MS,
    );
    timer.unref();
    const settled = () => {
      clearTimeout(timer);
      this.inFlight--;
      this.unreleased.delete(release);
    };
    // `load` runs now (a read shared by the requests after this one has to be out already);
    // should it throw rather than reject, that is a failed read too.
    const loaded = (async () => load())();
    const result = loaded.then(
      (value) => {
        settled();
        this.isFailing = false;
        this.hasRefused = false;
        this.lastError = undefined;
        return value;
      },
      (error: unknown) => {
        this.hasRefused = true;
        this.fail(error); // before `settled`, so that this read's own `failing` resolves too
        settled();
        throw error;
      },
    );
    return { result, failing };
  }

  private fail(error: unknown): void {
    this.isFailing = true;
    this.lastError = error;
    this.failedAt = this.now();
    for (const release of this.unreleased) release();
    this.unreleased.clear();
  }
}
