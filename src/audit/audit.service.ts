import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicFlush } from '../common/periodic-flush';
import { AppConfig } from '../config/app-config';
import { AuditedRequest, AuditRecord, denialRecord } from './audit-record';

/** A batch this big is written at once instead of waiting for the next tick. */
export const FLUSH_BATCH_SIZE = 500;
/**
 * The most events kept in memory while the database cannot take them. Past it the OLDEST are
 * dropped (a thousand at a time, so that dropping stays cheap under a flood) and the number
 * dropped is logged as a warning: memory stays bounded during a long outage, and the newest
 * events, the ones an operator looks at first afterwards, survive.
 */
export const MAX_BUFFERED_EVENTS = 20_000;
export const DROP_CHUNK = 1_000;
/** Expired events are deleted in statements of at most this many rows (statement_timeout). */
export const PURGE_BATCH_SIZE = 10_000;
export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

const INSERT_SQL = `
  INSERT INTO "audit_events"
    ("occurred_at", "kind", "public_key", "client_address", "reason", "action", "target", "actor", "details")
  SELECT * FROM unnest(
    $1::timestamptz[], $2::varchar[], $3::varchar[], $4::inet[], $5::varchar[],
    $6::varchar[], $7::varchar[], $8::varchar[], $9::jsonb[])`;

const PURGE_SQL = `
  WITH "expired" AS (
    DELETE FROM "audit_events"
     WHERE "id" IN (SELECT "id" FROM "audit_events" WHERE "occurred_at" < $1 LIMIT $2)
    RETURNING 1)
  SELECT count(*)::int AS "deleted" FROM "expired"`;

/**
 * The audit trail's writer. Recording an event is a push onto an in-memory buffer, so a denied
 * request costs no database write; the buffer is written in ONE multi-row INSERT every
 * `LAST_REQUEST_FLUSH_MS`, as soon as it holds `FLUSH_BATCH_SIZE` events, before
 * `GET /admin/audit` answers, and at shutdown. Events older than `AUDIT_RETENTION_DAYS` are
 * deleted at start and every hour.
 */
@Injectable()
export class AuditService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AuditService');
  private buffer: AuditRecord[] = [];
  private dropped = 0;
  /** One INSERT at a time, so batches keep their order. */
  private readonly flushes = new PeriodicFlush(() => this.write());
  /** The last write failed: wait for the timer instead of retrying on every new event. */
  private failing = false;
  private purging?: Promise<number>;
  private retentionTimer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.flushes.start(this.config.lastRequestFlushMs);
    // Not awaited: a large first clean-up must not hold up the start.
    this.purgeInBackground();
    this.retentionTimer = setInterval(() => this.purgeInBackground(), RETENTION_INTERVAL_MS);
    this.retentionTimer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.retentionTimer);
    await this.purging?.catch(() => undefined);
    await this.flushes.stop();
    if (this.buffer.length > 0) {
      this.logger.error(`${this.buffer.length} audit events could not be written and are lost`);
    }
  }

  /** Buffers an event; never touches the database itself and never throws. */
  record(event: AuditRecord): void {
    this.buffer.push(event);
    if (this.buffer.length > MAX_BUFFERED_EVENTS) this.dropOldest();
    if (this.buffer.length >= FLUSH_BATCH_SIZE && !this.flushes.busy && !this.failing) {
      void this.flush();
    }
  }

  /** Records the exception when it is a denial (see `denialRecord`); for the exception filter. */
  recordDenial(exception: unknown, request: AuditedRequest): void {
    try {
      const event = denialRecord(exception, request);
      if (event) this.record(event);
    } catch (error) {
      // The audit must never change the answer a client gets.
      this.logger.warn(`Could not record a denial: ${String(error)}`);
    }
  }

  /** Events recorded and not yet written. */
  get pending(): number {
    return this.buffer.length;
  }

  /**
   * Writes every buffered event (after the write under way, if any). Never throws: events the
   * database could not take stay buffered for the next attempt.
   */
  flush(): Promise<void> {
    return this.flushes.run();
  }

  /** Deletes the events older than the retention period; returns how many. */
  async purgeExpired(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.config.auditRetentionDays * DAY_MS);
    let total = 0;
    for (;;) {
      const rows: { deleted: number }[] = await this.dataSource.query(PURGE_SQL, [
        cutoff.toISOString(),
        PURGE_BATCH_SIZE,
      ]);
      const deleted = Number(rows[0]?.deleted ?? 0);
      total += deleted;
      if (deleted < PURGE_BATCH_SIZE) break;
    }
    if (total > 0) {
      this.logger.log(
        `Deleted ${total} audit events older than ${this.config.auditRetentionDays} days`,
      );
    }
    return total;
  }

  private purgeInBackground(): void {
    if (this.purging) return;
    this.purging = this.purgeExpired()
      .catch((error) => {
        this.logger.warn(`Could not delete expired audit events: ${String(error)}`);
        return 0;
      })
      .finally(() => {
        this.purging = undefined;
      });
  }

  private async write(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    try {
      await this.dataSource.query(INSERT_SQL, columns(batch));
      this.failing = false;
    } catch (error) {
      // Retrying a batch the database refuses would block every later event for ever; one
      // event it refuses must not take the others with it (an admin could otherwise erase the
      // record of their own actions with a request the database cannot store).
      if (isDataError(error) && batch.length > 1) await this.writeOneByOne(batch);
      else if (isDataError(error)) this.reportRefused(1, error);
      else this.keepForRetry(batch, error);
    }
    if (this.dropped > 0) {
      this.logger.warn(
        `Dropped the ${this.dropped} oldest audit events: more than ${MAX_BUFFERED_EVENTS} were waiting for the database`,
      );
      this.dropped = 0;
    }
  }

  /** A refused batch, event by event: only the events refused are dropped. */
  private async writeOneByOne(batch: AuditRecord[]): Promise<void> {
    let refused = 0;
    let refusal: unknown;
    for (const [i, event] of batch.entries()) {
      try {
        await this.dataSource.query(INSERT_SQL, columns([event]));
      } catch (error) {
        if (!isDataError(error)) {
          this.keepForRetry(batch.slice(i), error);
          break;
        }
        refused++;
        refusal = error;
      }
    }
    if (refused > 0) this.reportRefused(refused, refusal);
  }

  private reportRefused(count: number, error: unknown): void {
    this.logger.error(
      `The database refused ${count} audit events; they are dropped: ${String(error)}`,
    );
  }

  /** Events that could not be written for want of the database, ahead of newer ones. */
  private keepForRetry(events: AuditRecord[], error: unknown): void {
    this.failing = true;
    this.buffer = events.concat(this.buffer);
    while (this.buffer.length > MAX_BUFFERED_EVENTS) this.dropOldest();
    this.logger.warn(
      `Could not write ${events.length} audit events, kept for the next attempt: ${String(error)}`,
    );
  }

  private dropOldest(): void {
    const count = Math.min(DROP_CHUNK, this.buffer.length);
    this.buffer.splice(0, count);
    this.dropped += count;
  }
}

/** The batch as one array per column, for `unnest`. */
function columns(batch: AuditRecord[]): unknown[] {
  return [
    batch.map((e) => e.occurredAt.toISOString()),
    batch.map((e) => e.kind),
    batch.map((e) => e.publicKey),
    batch.map((e) => e.clientAddress),
    batch.map((e) => e.reason),
    batch.map((e) => e.action),
    batch.map((e) => e.target),
    batch.map((e) => e.actor),
    batch.map((e) => (e.details === null ? null : JSON.stringify(e.details))),
  ];
}

/** SQLSTATE 22 (data exception) or 23 (integrity): the rows themselves are refused. */
function isDataError(error: unknown): boolean {
  const { code, driverError } = (error ?? {}) as { code?: unknown; driverError?: unknown };
  const sqlState = typeof code === 'string' ? code : (driverError as { code?: unknown })?.code;
  return typeof sqlState === 'string' && /^2[23][0-9A-Z]{3}$/.test(sqlState);
}
