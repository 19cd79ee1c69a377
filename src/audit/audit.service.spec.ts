import { DataSource } from 'typeorm';
import { AuthDeniedException } from '../auth/auth-denied.exception';
import { AuthResult } from '../auth/auth-result';
import { AppConfig } from '../config/app-config';
import { AuditRecord } from './audit-record';
import {
  AuditService,
  DROP_CHUNK,
  FLUSH_BATCH_SIZE,
  MAX_BUFFERED_EVENTS,
  PURGE_BATCH_SIZE,
} from './audit.service';

interface Call {
  sql: string;
  params: unknown[];
}

/** A DataSource whose `query` records its calls and answers with `answer` (or its error). */
function stubDataSource() {
  const calls: Call[] = [];
  const pending: (() => void)[] = [];
  const stub = {
    calls,
    /** What the next queries do: resolve, reject, or wait for `release()`. */
    answer: (_call: Call): unknown => [],
    hold: false,
    release: () => pending.splice(0).forEach((resume) => resume()),
    query: async (sql: string, params: unknown[] = []) => {
      const call = { sql, params };
      calls.push(call);
      if (stub.hold) await new Promise<void>((resume) => pending.push(resume));
      const result = stub.answer(call);
      if (result instanceof Error) throw result;
      return result;
    },
  };
  return stub;
}

function setUp(config: Partial<AppConfig> = {}) {
  const dataSource = stubDataSource();
  const service = new AuditService(
    dataSource as unknown as DataSource,
    {
      lastRequestFlushMs: 5000,
      auditRetentionDays: 90,
      ...config,
    } as AppConfig,
  );
  const log = { warn: [] as string[], error: [] as string[], log: [] as string[] };
  // Keeps the test output quiet and lets the tests read what would be logged.
  (service as unknown as { logger: unknown }).logger = {
    warn: (m: string) => log.warn.push(m),
    error: (m: string) => log.error.push(m),
    log: (m: string) => log.log.push(m),
  };
  const inserts = () => dataSource.calls.filter((c) => c.sql.includes('INSERT'));
  return { service, dataSource, log, inserts };
}

let sequence = 0;
function event(overrides: Partial<AuditRecord> = {}): AuditRecord {
  sequence++;
  return {
    occurredAt: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, sequence)),
    kind: 'denial',
    publicKey: `key-${sequence}`,
    clientAddress: '203.0.113.9',
    reason: 'UserUnknown',
    action: null,
    target: null,
    actor: null,
    details: { method: 'GET', path: '/odata/v1' },
    ...overrides,
  };
}

/** The public keys column of an INSERT: which events it wrote, in order. */
const keysOf = (call: Call): unknown[] => call.params[3] as unknown[];
/** The batch id of an INSERT. */
const idOf = (call: Call): unknown => call.params[0];

const connectionLost = () =>
  Object.assign(new Error('Connection terminated'), { code: 'ECONNRESET' });

describe('AuditService', () => {
  it('records without touching the database', () => {
    const { service, dataSource } = setUp();
    for (let i = 0; i < 10; i++) service.record(event());
    expect(dataSource.calls).toEqual([]);
    expect(service.pending).toBe(10);
  });

  it('writes the whole buffer in ONE multi-row INSERT, one array per column', async () => {
    const { service, inserts } = setUp();
    const admin = event({
      kind: 'admin',
      publicKey: 'admin-key',
      reason: null,
      action: 'api-users.update',
      target: 'id-1',
      actor: 'admin-key',
      details: { fields: ['name'] },
    });
    const denial = event({ clientAddress: null, details: null, publicKey: null });
    service.record(admin);
    service.record(denial);
    await service.flush();

    expect(inserts()).toHaveLength(1);
    const { sql, params } = inserts()[0];
    expect(sql).toMatch(/INSERT INTO "audit_events"/);
    expect(sql).toMatch(/unnest\(/);
    expect(params).toEqual([
      expect.stringMatching(/^[0-9a-f-]{36}$/),
      [admin.occurredAt.toISOString(), denial.occurredAt.toISOString()],
      ['admin', 'denial'],
      ['admin-key', null],
      ['203.0.113.9', null],
      [null, 'UserUnknown'],
      ['api-users.update', null],
      ['id-1', null],
      ['admin-key', null],
      ['{"fields":["name"]}', null],
    ]);
    expect(service.pending).toBe(0);
  });

  it('does nothing when there is nothing to write', async () => {
    const { service, dataSource } = setUp();
    await service.flush();
    expect(dataSource.calls).toEqual([]);
  });

  it('retries a failed batch as it was, under its id, ahead of newer events in a batch of their own', async () => {
    // A write that failed may have committed (its answer not awaited): merged with newer
    // events, or under a new id, a retry of it would store its events twice.
    const { service, dataSource, inserts, log } = setUp();
    const [a, b, c] = [event(), event(), event()];
    service.record(a);
    service.record(b);
    dataSource.answer = () => connectionLost();
    await service.flush();
    expect(service.pending).toBe(2);
    expect(log.warn.join()).toMatch(/Could not write 2 audit events/);

    service.record(c);
    await service.flush(); // fails again: the same batch, and nothing else, was tried
    dataSource.answer = () => [];
    await service.flush();
    expect(inserts().map(keysOf)).toEqual([
      [a.publicKey, b.publicKey],
      [a.publicKey, b.publicKey],
      [a.publicKey, b.publicKey],
      [c.publicKey],
    ]);
    const ids = inserts().map(idOf);
    expect(new Set(ids.slice(0, 3)).size).toBe(1);
    expect(ids[3]).not.toBe(ids[0]);
    expect(service.pending).toBe(0);
  });

  it('drops a batch the database refuses as data (it would block every later event)', async () => {
    const { service, dataSource, log } = setUp();
    service.record(event());
    dataSource.answer = () =>
      Object.assign(new Error('value too long'), { driverError: { code: '22001' } });
    await service.flush();
    expect(service.pending).toBe(0);
    expect(log.error.join()).toMatch(/refused 1 audit events/);
  });

  it('writes a refused batch event by event, dropping only the events refused', async () => {
    const { service, dataSource, log, inserts } = setUp();
    const [first, bad, last] = [event(), event(), event()];
    for (const e of [first, bad, last]) service.record(e);
    const refusal = Object.assign(new Error('invalid input syntax for type json'), {
      driverError: { code: '22P02' },
    });
    dataSource.answer = (call) => (keysOf(call).includes(bad.publicKey) ? refusal : []);
    await service.flush();
    expect(inserts().map(keysOf)).toEqual([
      [first.publicKey, bad.publicKey, last.publicKey],
      [first.publicKey],
      [bad.publicKey],
      [last.publicKey],
    ]);
    expect(service.pending).toBe(0);
    expect(log.error).toEqual([expect.stringMatching(/refused 1 audit events/)]);
  });

  it('keeps the rest of a refused batch when the database goes away meanwhile', async () => {
    const { service, dataSource, inserts } = setUp();
    const events = [event(), event(), event()];
    for (const e of events) service.record(e);
    let call = 0;
    dataSource.answer = () => {
      call++;
      if (call === 1) return Object.assign(new Error('bad'), { driverError: { code: '22P02' } });
      return call === 2 ? [] : connectionLost();
    };
    await service.flush();
    expect(service.pending).toBe(2);
    dataSource.answer = () => [];
    await service.flush();
    // The event whose write failed is retried alone, under the id it was sent with (it may
    // have been stored); the one never sent goes into a new batch.
    expect(inserts().map(keysOf)).toEqual([
      events.map((e) => e.publicKey),
      [events[0].publicKey],
      [events[1].publicKey],
      [events[1].publicKey],
      [events[2].publicKey],
    ]);
    const ids = inserts().map(idOf);
    expect(ids[3]).toBe(ids[2]);
    expect(new Set(ids).size).toBe(4);
  });

  it(`writes at once when ${FLUSH_BATCH_SIZE} events are waiting, without waiting for the tick`, async () => {
    const { service, inserts } = setUp();
    for (let i = 0; i < FLUSH_BATCH_SIZE - 1; i++) service.record(event());
    expect(inserts()).toHaveLength(0);
    service.record(event());
    expect(inserts()).toHaveLength(1);
    expect(keysOf(inserts()[0])).toHaveLength(FLUSH_BATCH_SIZE);
    await service.flush();
    expect(service.pending).toBe(0);
  });

  it('does not retry on every new event while the database is failing', async () => {
    const { service, dataSource, inserts } = setUp();
    dataSource.answer = () => connectionLost();
    for (let i = 0; i < FLUSH_BATCH_SIZE; i++) service.record(event());
    await service.flush(); // the early write, then the explicit one: both fail
    const attempts = inserts().length;
    for (let i = 0; i < FLUSH_BATCH_SIZE * 3; i++) service.record(event());
    expect(inserts()).toHaveLength(attempts);
    // The timer's flush still tries (the failed batch, then the newer events), and a success
    // ends the back-off.
    dataSource.answer = () => [];
    await service.flush();
    expect(service.pending).toBe(0);
    expect(inserts()).toHaveLength(attempts + 2);
    for (let i = 0; i < FLUSH_BATCH_SIZE; i++) service.record(event());
    expect(inserts()).toHaveLength(attempts + 3);
  });

  it(`keeps at most ${MAX_BUFFERED_EVENTS} events, dropping the oldest and saying how many`, async () => {
    const { service, dataSource, log, inserts } = setUp();
    dataSource.answer = () => connectionLost();
    await service.flush();
    const total = MAX_BUFFERED_EVENTS + 2_500;
    const events = Array.from({ length: total }, () => event());
    for (const e of events) {
      service.record(e);
      expect(service.pending).toBeLessThanOrEqual(MAX_BUFFERED_EVENTS);
    }
    await service.flush();
    const reports = log.warn.flatMap((m) => /Dropped the (\d+) oldest/.exec(m)?.[1] ?? []);
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.reduce((sum, n) => sum + Number(n), 0)).toBe(total - service.pending);

    dataSource.answer = () => [];
    await service.flush();
    const written = keysOf(inserts()[inserts().length - 1]);
    // The newest survive, in order.
    expect(written).toEqual(events.slice(total - written.length).map((e) => e.publicKey));
    expect(written[written.length - 1]).toBe(events[total - 1].publicKey);
  });

  it('drops the oldest events from the failed batch first, which keeps its id', async () => {
    const { service, dataSource, inserts } = setUp();
    // A failed write of one event first, so that no early write takes the bigger batch apart.
    dataSource.answer = () => connectionLost();
    service.record(event());
    await service.flush();
    const failed = Array.from({ length: DROP_CHUNK + 500 }, () => event());
    for (const e of failed) service.record(e);
    dataSource.answer = (call) => (keysOf(call).length === 1 ? [] : connectionLost());
    await service.flush();
    const failedId = idOf(inserts()[inserts().length - 1]);
    expect(keysOf(inserts()[inserts().length - 1])).toHaveLength(failed.length);
    const newer = Array.from({ length: MAX_BUFFERED_EVENTS - failed.length + 1 }, () => event());
    for (const e of newer) service.record(e);
    expect(service.pending).toBe(MAX_BUFFERED_EVENTS + 1 - DROP_CHUNK);

    dataSource.answer = () => [];
    const before = inserts().length;
    await service.flush();
    // Had the batch committed, its id still stops the retry; if not, the rest of it is written.
    const [retry, next] = inserts().slice(before);
    expect(idOf(retry)).toBe(failedId);
    expect(keysOf(retry)).toEqual(failed.slice(DROP_CHUNK).map((e) => e.publicKey));
    expect(keysOf(next)).toEqual(newer.map((e) => e.publicKey));
  });

  it('runs one write at a time; a flush during a write waits for it and writes the rest', async () => {
    const { service, dataSource, inserts } = setUp();
    dataSource.hold = true;
    const [a, b] = [event(), event()];
    service.record(a);
    const first = service.flush();
    await Promise.resolve();
    service.record(b);
    const second = service.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(inserts()).toHaveLength(1);
    dataSource.hold = false;
    dataSource.release();
    await Promise.all([first, second]);
    expect(inserts().map(keysOf)).toEqual([[a.publicKey], [b.publicKey]]);
  });

  it('writes what is buffered before the application shuts down', async () => {
    const { service, inserts } = setUp();
    service.onApplicationBootstrap();
    service.record(event());
    await service.beforeApplicationShutdown();
    expect(inserts()).toHaveLength(1);
    expect(service.pending).toBe(0);
  });

  it('says how many events are lost when the database is away at shutdown', async () => {
    const { service, dataSource, log } = setUp();
    service.record(event());
    dataSource.answer = () => connectionLost();
    await service.beforeApplicationShutdown();
    expect(log.error.join()).toMatch(/1 audit events could not be written and are lost/);
  });

  describe('recordDenial', () => {
    const request = {
      method: 'GET',
      url: '/odata/v1?x=1',
      ip: '127.0.0.1',
      headers: { authorization: `Basic ${Buffer.from('pk:the-secret').toString('base64')}` },
    };

    it('buffers denials only', () => {
      const { service } = setUp();
      service.recordDenial(new Error('not a denial'), request);
      expect(service.pending).toBe(0);
      service.recordDenial(new AuthDeniedException(AuthResult.InvalidCredentials), request);
      expect(service.pending).toBe(1);
    });

    it('never throws, whatever the request looks like', () => {
      const { service, log } = setUp();
      expect(() =>
        service.recordDenial(
          new AuthDeniedException(AuthResult.UserUnknown),
          null as unknown as typeof request,
        ),
      ).not.toThrow();
      expect(log.warn.join()).toMatch(/Could not record a denial/);
    });
  });

  describe('retention', () => {
    it('deletes events older than AUDIT_RETENTION_DAYS, in batches until none is left', async () => {
      const { service, dataSource } = setUp({ auditRetentionDays: 30 });
      const answers = [PURGE_BATCH_SIZE, PURGE_BATCH_SIZE, 7];
      dataSource.answer = () => [{ deleted: answers.shift() }];
      const now = new Date('2025-06-30T12:00:00Z');
      await expect(service.purgeExpired(now)).resolves.toBe(2 * PURGE_BATCH_SIZE + 7);
      expect(dataSource.calls).toHaveLength(3);
      for (const call of dataSource.calls) {
        expect(call.sql).toMatch(/DELETE FROM "audit_events"/);
        expect(call.params).toEqual(['2025-05-31T12:00:00.000Z', PURGE_BATCH_SIZE]);
      }
    });

    it('runs at start without holding it up, and a failure is only logged', async () => {
      const { service, dataSource, log } = setUp();
      dataSource.answer = () => connectionLost();
      service.onApplicationBootstrap();
      expect(dataSource.calls).toHaveLength(1);
      expect(dataSource.calls[0].sql).toMatch(/DELETE/);
      await service.beforeApplicationShutdown();
      expect(log.warn.join()).toMatch(/Could not delete expired audit events/);
    });
  });
});
