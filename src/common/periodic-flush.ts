/**
 * When a write-behind buffer (last-request times, usage counts, audit events) is written: every
 * `intervalMs`, on demand, and once more at shutdown, one write at a time. A write asked for
 * while one is under way starts after it, and its promise resolves once every earlier write
 * ended: a report that flushes first sees every count, and the shutdown's last write comes after
 * the timer's, so rows that write could not take are put back before the last chance to write
 * them rather than after it.
 *
 * `write` takes what is buffered, keeps what it could not write for the next time, and does not
 * throw.
 */
export class PeriodicFlush {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly write: () => Promise<void>) {}

  /** A write is under way or waiting for one. */
  get busy(): boolean {
    return this.waiting > 0;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.run(), intervalMs);
    this.timer.unref(); // a buffer must not keep the process alive
  }

  /** Stops the timer and writes once more, after the write under way. */
  stop(): Promise<void> {
    clearInterval(this.timer);
    return this.run();
  }

  /** Writes after every earlier write (at once when none is under way); resolves when it ended. */
  run(): Promise<void> {
    const write = this.waiting++ === 0 ? this.write() : this.tail.then(() => this.write());
    const done = write.finally(() => {
      this.waiting--;
    });
    this.tail = done.catch(() => undefined); // one failed write does not stop the next
    return done;
  }
}
