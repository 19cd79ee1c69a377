import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { UsageService } from './usage.service';

const A = '6f1c2b1e-0000-4000-8000-00000000000a';
const B = '6f1c2b1e-0000-4000-8000-00000000000b';
const DAY1 = Date.parse('2026-11-22T23:59:00Z');
const DAY2 = Date.parse('2026-11-23T00:01:00Z');

function setUp(fail: () => boolean = () => false) {
  /** The parameters of every write attempted: the batch id, then the columns. */
  const attempts: unknown[][] = [];
  /** The columns of the writes that succeeded. */
  const writes: unknown[][] = [];
  const dataSource = {
    query: (sql: string, parameters: unknown[]) => {
      if (!sql.includes('INSERT')) return Promise.resolve([]);
      attempts.push(parameters);
      if (fail()) return Promise.reject(new Error('Query read timeout'));
      writes.push(parameters.slice(1));
      return Promise.resolve([]);
    },
  } as unknown as DataSource;
  const service = new UsageService(dataSource, { lastRequestFlushMs: 60_000 } as AppConfig);
  (service as unknown as { logger: unknown }).logger = { warn: () => undefined };
  return { service, writes, attempts };
}

describe('UsageService', () => {
  it('writes the counts per user and UTC day in one statement, then nothing until more come', async () => {
    const { service, writes } = setUp();
    service.record(A, DAY1);
    service.record(A, DAY1);
    service.record(A, DAY2);
    service.record(B, DAY2);
    await service.flush();
    expect(writes).toEqual([
      [
        [A, A, B],
        ['2026-11-22', '2026-11-23', '2026-11-23'],
        ['2', '1', '1'],
      ],
    ]);
    await service.flush();
    expect(writes).toHaveLength(1);
  });

  it('writes each batch with an id of its own', async () => {
    const { service, attempts } = setUp();
    service.record(A, DAY1);
    await service.flush();
    service.record(A, DAY1);
    await service.flush();
    const [first, second] = attempts.map((p) => p[0]);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(second).not.toBe(first);
  });

  it('retries a failed batch as it was, under its id, and newer counts in a batch of their own', async () => {
    // A write that failed may have committed (its answer not awaited): merged with newer
    // counts, or under a new id, a retry of it would count its requests twice.
    let failing = true;
    const { service, writes, attempts } = setUp(() => failing);
    service.record(A, DAY2);
    service.record(A, DAY2);
    await service.flush();
    expect(writes).toEqual([]);
    service.record(A, DAY2);
    await service.flush(); // fails again: the same batch, and nothing else, was tried
    expect(attempts.map((p) => p[3])).toEqual([['2'], ['2']]);
    failing = false;
    await service.flush();
    expect(writes).toEqual([
      [[A], ['2026-11-23'], ['2']],
      [[A], ['2026-11-23'], ['1']],
    ]);
    const ids = attempts.map((p) => p[0]);
    expect(ids.slice(0, 3)).toEqual([ids[0], ids[0], ids[0]]);
    expect(ids[3]).not.toBe(ids[0]);
    await service.flush();
    expect(attempts).toHaveLength(4);
  });

  it('writes what is left at shutdown', async () => {
    const { service, writes } = setUp();
    service.onApplicationBootstrap();
    service.record(B, DAY1);
    await service.beforeApplicationShutdown();
    expect(writes).toEqual([[[B], ['2026-11-22'], ['1']]]);
  });
});
