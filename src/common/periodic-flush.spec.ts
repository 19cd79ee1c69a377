import { jest } from '@jest/globals';
import { PeriodicFlush } from './periodic-flush';

/** A write that records its start and end, and ends when the test lets it. */
function setUp() {
  const events: string[] = [];
  const endings: ((error?: Error) => void)[] = [];
  let count = 0;
  const flush = new PeriodicFlush(() => {
    const n = ++count;
    events.push(`start ${n}`);
    return new Promise<void>((resolve, reject) => {
      endings.push((error) => {
        events.push(`end ${n}`);
        if (error) reject(error);
        else resolve();
      });
    });
  });
  const end = (error?: Error) => endings.shift()!(error);
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  return { flush, events, end, tick };
}

describe('PeriodicFlush', () => {
  it('starts a write at once when none is under way, and the next only after it', async () => {
    const { flush, events, end, tick } = setUp();
    expect(flush.busy).toBe(false);
    const first = flush.run();
    const second = flush.run();
    expect(events).toEqual(['start 1']);
    expect(flush.busy).toBe(true);
    end();
    await first;
    await tick();
    expect(events).toEqual(['start 1', 'end 1', 'start 2']);
    end();
    await second;
    expect(flush.busy).toBe(false);
  });

  it('goes on after a write that fails, whose caller sees the failure', async () => {
    const { flush, events, end, tick } = setUp();
    const failing = flush.run();
    const next = flush.run();
    end(new Error('connection lost'));
    await expect(failing).rejects.toThrow('connection lost');
    await tick();
    end();
    await next;
    expect(events).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('writes on its timer, and once more after the write under way when stopped', async () => {
    jest.useFakeTimers();
    try {
      const { flush, events, end } = setUp();
      flush.start(1000);
      jest.advanceTimersByTime(999);
      expect(events).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(events).toEqual(['start 1']);
      const stopped = flush.stop();
      end();
      await jest.advanceTimersByTimeAsync(0);
      expect(events).toEqual(['start 1', 'end 1', 'start 2']);
      end();
      await stopped;
      jest.advanceTimersByTime(5000);
      expect(events).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    } finally {
      jest.useRealTimers();
    }
  });
});
