import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { UsageService } from './usage.service';

const A = '6f1c2b1e-0000-4000-8000-00000000000a';
const B = '6f1c2b1e-0000-4000-8000-00000000000b';
const DAY1 = Date.parse('2026-11-22T23:59:00Z');
const DAY2 = Date.parse('2026-11-23T00:01:00Z');

function setUp(fail: () => boolean = () => false) {
  const writes: unknown[][] = [];
  const dataSource = {
    query: (sql: string, parameters: unknown[]) => {
      if (!sql.includes('INSERT')) return Promise.resolve([]);
      if (fail()) return Promise.reject(new Error('connection refused'));
      writes.push(parameters);
      return Promise.resolve([]);
    },
  } as unknown as DataSource;
  const service = new UsageService(dataSource, { lastRequestFlushMs: 60_000 } as AppConfig);
  return { service, writes };
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

  it('keeps the counts when the write fails and adds them to the next one', async () => {
    let failing = true;
    const { service, writes } = setUp(() => failing);
    service.record(A, DAY2);
    service.record(A, DAY2);
    await service.flush();
    expect(writes).toEqual([]);
    service.record(A, DAY2);
    failing = false;
    await service.flush();
    expect(writes).toEqual([[[A], ['2026-11-23'], ['3']]]);
  });

  it('writes what is left at shutdown', async () => {
    const { service, writes } = setUp();
    service.onApplicationBootstrap();
    service.record(B, DAY1);
    await service.beforeApplicationShutdown();
    expect(writes).toEqual([[[B], ['2026-11-22'], ['1']]]);
  });
});
