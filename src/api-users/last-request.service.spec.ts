import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { LastRequestService } from './last-request.service';

const A = '6f1c2b1e-0000-4000-8000-00000000000a';
const B = '6f1c2b1e-0000-4000-8000-00000000000b';
const T1 = Date.parse('2026-12-03T07:00:00Z');
const T2 = Date.parse('2026-12-03T07:00:05Z');

/** A database whose UPDATEs wait for `answer()` when `hold` is set. */
function setUp() {
  const writes: [string[], string[]][] = [];
  const held: (() => void)[] = [];
  const db = { hold: false, fail: false };
  const dataSource = {
    query: (_sql: string, parameters: [string[], string[]]) =>
      new Promise<void>((resolve, reject) => {
        const answer = () => {
          if (db.fail) return reject(new Error('Connection terminated'));
          writes.push(parameters);
          resolve();
        };
        if (db.hold) held.push(answer);
        else answer();
      }),
  } as unknown as DataSource;
  const service = new LastRequestService(dataSource, { lastRequestFlushMs: 60_000 } as AppConfig);
  const answerHeld = () => held.splice(0).forEach((answer) => answer());
  return { service, writes, db, answerHeld };
}

describe('LastRequestService', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  it('writes the latest time per user in one statement, then nothing until more come', async () => {
    const { service, writes } = setUp();
    service.touch(A, T1);
    service.touch(A, T2);
    service.touch(B, T1);
    expect(service.pendingFor(A)).toEqual(new Date(T2));
    await service.flush();
    expect(writes).toEqual([
      [
        [A, B],
        [new Date(T2).toISOString(), new Date(T1).toISOString()],
      ],
    ]);
    expect(service.pendingFor(A)).toBeUndefined();
    await service.flush();
    expect(writes).toHaveLength(1);
  });

  it('keeps the times when the write fails, unless a newer request replaced them', async () => {
    const { service, writes, db, answerHeld } = setUp();
    db.hold = true;
    db.fail = true;
    service.touch(A, T1);
    service.touch(B, T1);
    const failed = service.flush();
    service.touch(B, T2); // a request while the write is under way
    answerHeld();
    await failed;
    expect(writes).toEqual([]);
    db.hold = false;
    db.fail = false;
    await service.flush();
    expect(writes).toHaveLength(1);
    const [ids, times] = writes[0];
    expect(Object.fromEntries(ids.map((id, i) => [id, times[i]]))).toEqual({
      [A]: new Date(T1).toISOString(),
      [B]: new Date(T2).toISOString(),
    });
  });

  it('at shutdown, waits for the write under way and writes what it could not', async () => {
    // The timer's flush is under way when the shutdown comes, and fails (the pool is closing):
    // the shutdown's flush must come after it and write its times too, or they are lost.
    const { service, writes, db, answerHeld } = setUp();
    db.hold = true;
    service.touch(A, T1);
    const timersFlush = service.flush();
    service.touch(B, T2);
    const shutdown = service.beforeApplicationShutdown();
    db.fail = true;
    answerHeld();
    await timersFlush;
    db.hold = false;
    db.fail = false;
    answerHeld();
    await shutdown;
    expect(writes.flatMap(([ids]) => ids).sort()).toEqual([A, B]);
  });
});
