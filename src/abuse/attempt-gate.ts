/** One of the lanes an attempt needs a place in, and how many attempts the lane runs at once. */
export interface GateTicket {
  lane: string;
  limit: number;
}

/** The attempts running in one lane, and the ones waiting to start. */
interface Lane {
  running: number;
  waiting: (() => void)[];
}

/**
 * Bounds how many credential checks of one subject (a key at an address, an address) run at
 * once on this instance; the others wait their turn, first come first served.
 *
 * A lock is looked up before the credentials are checked and a failure counted after: without
 * a bound, every request of a burst sent at once passes the lookup before the first failure is
 * counted, and a burst of any size gets past the lock (300 wrong secrets at once were all
 * checked, where the lock should have held after 3). With at most `limit` checks running per
 * lane, and the lock looked up again by each one when it starts, a burst is checked no faster
 * than failures are counted: at most `limit - 1` more than the lock's attempts get an answer of
 * their own before it holds.
 *
 * An attempt takes its places in every lane at once or waits, holding none, for the first lane
 * that is full: no two attempts can wait for each other.
 */
export class AttemptGate {
  private readonly lanes = new Map<string, Lane>();

  /**
   * Runs `attempt` once every lane of `tickets` has room; synchronously when they have it now
   * (the result, or the throw, is `attempt`'s own).
   */
  run<T>(tickets: readonly GateTicket[], attempt: () => T | Promise<T>): T | Promise<T> {
    return this.runOrQueue(tickets, attempt, false);
  }

  /** How many attempts are running or waiting in `lane` (for tests). */
  occupancy(lane: string): { running: number; waiting: number } {
    const found = this.lanes.get(lane);
    return { running: found?.running ?? 0, waiting: found?.waiting.length ?? 0 };
  }

  private runOrQueue<T>(
    tickets: readonly GateTicket[],
    attempt: () => T | Promise<T>,
    wokenUp: boolean,
  ): T | Promise<T> {
    const full = tickets.find(({ lane, limit }) => (this.lanes.get(lane)?.running ?? 0) >= limit);
    if (full) {
      const lane = this.lane(full.lane);
      return new Promise<void>((resolve) => {
        // One that was woken and found another lane full keeps its turn.
        if (wokenUp) lane.waiting.unshift(resolve);
        else lane.waiting.push(resolve);
      }).then(() => this.runOrQueue(tickets, attempt, true));
    }
    for (const { lane } of tickets) this.lane(lane).running++;
    let result: T | Promise<T>;
    try {
      result = attempt();
    } catch (error) {
      this.leave(tickets);
      throw error;
    }
    if (!(result instanceof Promise)) {
      this.leave(tickets);
      return result;
    }
    return result.finally(() => this.leave(tickets));
  }

  private lane(name: string): Lane {
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = { running: 0, waiting: [] };
      this.lanes.set(name, lane);
    }
    return lane;
  }

  private leave(tickets: readonly GateTicket[]): void {
    for (const { lane: name } of tickets) {
      const lane = this.lanes.get(name)!;
      lane.running--;
      const next = lane.waiting.shift();
      if (next) next();
      else if (lane.running === 0) this.lanes.delete(name);
    }
  }
}
