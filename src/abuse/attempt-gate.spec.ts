import { AttemptGate } from './attempt-gate';

/** A promise and the functions that settle it, for attempts the test finishes by hand. */
function deferred<T = string>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('AttemptGate', () => {
  it('runs an attempt at once, synchronously, while its lanes have room', () => {
    const gate = new AttemptGate();
    expect(gate.run([{ lane: 'k', limit: 1 }], () => 42)).toBe(42);
    expect(gate.occupancy('k')).toEqual({ running: 0, waiting: 0 });
  });

  it('runs at most `limit` attempts of one lane at once, the others in the order they came', async () => {
    const gate = new AttemptGate();
    const ticket = [{ lane: 'k', limit: 2 }];
    const started: number[] = [];
    const finishers = [0, 1, 2, 3].map(() => deferred());
    const results = finishers.map((finisher, i) =>
      gate.run(ticket, () => {
        started.push(i);
        return finisher.promise;
      }),
    );
    expect(started).toEqual([0, 1]);
    expect(gate.occupancy('k')).toEqual({ running: 2, waiting: 2 });

    finishers[1].resolve('one');
    await flush();
    expect(started).toEqual([0, 1, 2]);
    const zeroRefused = expect(results[0]).rejects.toThrow('zero');
    finishers[0].reject(new Error('zero'));
    await flush();
    expect(started).toEqual([0, 1, 2, 3]);
    finishers[2].resolve('two');
    finishers[3].resolve('three');

    await zeroRefused;
    await expect(Promise.all(results.slice(1) as Promise<string>[])).resolves.toEqual([
      'one',
      'two',
      'three',
    ]);
    expect(gate.occupancy('k')).toEqual({ running: 0, waiting: 0 });
  });

  it('keeps lanes apart', () => {
    const gate = new AttemptGate();
    const first = deferred();
    void gate.run([{ lane: 'a', limit: 1 }], () => first.promise);
    expect(gate.run([{ lane: 'b', limit: 1 }], () => 'b ran')).toBe('b ran');
    first.resolve('done');
  });

  it('waits until every lane of an attempt has room, holding none meanwhile', async () => {
    const gate = new AttemptGate();
    const keyBusy = deferred();
    void gate.run([{ lane: 'key', limit: 1 }], () => keyBusy.promise);
    const started: string[] = [];
    const both = gate.run(
      [
        { lane: 'address', limit: 1 },
        { lane: 'key', limit: 1 },
      ],
      () => {
        started.push('both');
        return 'both ran';
      },
    );
    // Waiting on the key's lane, it holds no place in the address's.
    expect(gate.occupancy('address')).toEqual({ running: 0, waiting: 0 });
    expect(gate.run([{ lane: 'address', limit: 1 }], () => 'address alone')).toBe('address alone');
    expect(started).toEqual([]);

    keyBusy.resolve('key done');
    await expect(both).resolves.toBe('both ran');
  });

  it('frees the places of an attempt that throws', () => {
    const gate = new AttemptGate();
    const ticket = [{ lane: 'k', limit: 1 }];
    expect(() =>
      gate.run(ticket, () => {
        throw new Error('refused');
      }),
    ).toThrow('refused');
    expect(gate.run(ticket, () => 'next')).toBe('next');
  });
});
