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
import { APPLY_BATCH, newBatchId } from '../database/write-batches';
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

/** `$1` the batch's id (see write-batches.ts), then one array per column. */
const INSERT_SQL = `
  WITH ${APPLY_BATCH}
  INSERT INTO "audit_events"
    ("occurred_at", "kind", "public_key", "client_address", "reason", "action", "target", "actor", "details")
  SELECT * FROM unnest(
    $2::timestamptz[], $3::varchar[], $4::varchar[], $5::inet[], $6::varchar[],
    $7::varchar[], $8::varchar[], $9::varchar[], $10::jsonb[])
   WHERE EXISTS (SELECT 1 FROM "first_application")`;

/** Events written (or attempted) in one INSERT. */
interface AuditBatch {
  /** Makes the write idempotent: a retry of a batch that committed adds nothing. */
  id: string;
  events: AuditRecord[];
}

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
 * `GET /admin/audit` answers, and at shutdown. Each batch is written exactly once: one whose
 * write failed for want of the database (its outcome unknown: a statement whose answer the
 * client stopped waiting for may commit all the same) is written again as it was, under its id,
 * before newer events (see write-batches.ts). Events older than `AUDIT_RETENTION_DAYS` are
 * deleted at start and every hour.
 */
@Injectable()
export class AuditService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AuditService');
  /** Events not sent yet, oldest first; all newer than `unsettled`'s. */
  private buffer: AuditRecord[] = [];
  /**
   * The batch whose write failed, outcome unknown; written again before anything newer. Never
   * added to: a batch that did commit must find nothing to write when it is retried. (Taking
   * its oldest events out, when too many wait, keeps that true: see `dropOldest`.)
   */
  private unsettled?: AuditBatch;
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
    if (this.pending > 0) {
      this.logger.error(`${this.pending} audit events could not be written and are lost`);
    }
  }

  /** Buffers an event; never touches the database itself and never throws. */
  record(event: AuditRecord): void {
    this.buffer.push(event);
    if (this.pending > MAX_BUFFERED_EVENTS) this.dropOldest();
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

  /** Events recorded and not yet written (or not known to be). */
  get pending(): number {
    return this.buffer.length + (this.unsettled?.events.length ?? 0);
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
    try {
      if (this.unsettled && !(await this.send(this.unsettled))) return;
      if (this.buffer.length === 0) return;
      const batch = { id: newBatchId(), events: this.buffer };
      this.buffer = [];
      await this.send(batch);
    } finally {
      if (this.dropped > 0) {
        this.logger.warn(
          `Dropped the ${this.dropped} oldest audit events: more than ${MAX_BUFFERED_EVENTS} were waiting for the database`,
        );
        this.dropped = 0;
      }
    }
  }

  /**
   * Writes `batch`; false when the database could not be reached or did not answer (the batch
   * is then kept as `unsettled`, to be written again as it is).
   */
  private async send(batch: AuditBatch): Promise<boolean> {
    try {
      await this.dataSource.query(INSERT_SQL, parameters(batch));
      this.settled(batch);
      return true;
    } catch (error) {
      if (!isDataError(error)) {
        this.keepForRetry(batch, batch.events.length, error);
        return false;
      }
      // Refused, so not applied (the refusal rolled its id back too): its events may go into
      // batches of their own. Retrying a batch the database refuses would block every later
      // event for ever; one event it refuses must not take the others with it (an admin could
      // otherwise erase the record of their own actions with a request the database cannot
      // store).
      this.settled(batch);
      if (batch.events.length > 1) return this.writeOneByOne(batch.events);
      this.reportRefused(1, error);
      return true;
    }
  }

  private settled(batch: AuditBatch): void {
    if (this.unsettled === batch) this.unsettled = undefined;
    this.failing = false;
  }

  /** A refused batch, event by event, each its own batch: only the events refused are dropped. */
  private async writeOneByOne(events: AuditRecord[]): Promise<boolean> {
    let refused = 0;
    let refusal: unknown;
    try {
      for (const [i, event] of events.entries()) {
        const single = { id: newBatchId(), events: [event] };
        try {
          await this.dataSource.query(INSERT_SQL, parameters(single));
        } catch (error) {
          if (!isDataError(error)) {
            // Only this event's outcome is unknown; the later ones were not sent and go back
            // ahead of newer events, to be written in a batch of their own.
            this.buffer = events.slice(i + 1).concat(this.buffer);
            this.keepForRetry(single, events.length - i, error);
            return false;
          }
          refused++;
          refusal = error;
        }
      }
      return true;
    } finally {
      if (refused > 0) this.reportRefused(refused, refusal);
    }
  }

  private reportRefused(count: number, error: unknown): void {
    this.logger.error(
      `The database refused ${count} audit events; they are dropped: ${String(error)}`,
    );
  }

  /**
   * A batch that could not be written for want of the database, kept to be written again, as
   * it is, ahead of newer events; `waiting` events of this write are kept in all.
   */
  private keepForRetry(batch: AuditBatch, waiting: number, error: unknown): void {
    this.failing = true;
    // Empty when `dropOldest` took every event of it while it was under way.
    this.unsettled = batch.events.length > 0 ? batch : undefined;
    while (this.pending > MAX_BUFFERED_EVENTS) this.dropOldest();
    this.logger.warn(
      `Could not write ${waiting} audit events, kept for the next attempt: ${String(error)}`,
    );
  }

  /**
   * Drops the oldest waiting events, the unsettled batch's first. Taking events out of that
   * batch keeps it exactly-once: had it committed, its retry still writes nothing (its id is
   * applied), and if not, the retry writes the events left.
   */
  private dropOldest(): void {
    let count = DROP_CHUNK;
    if (this.unsettled) {
      const events = this.unsettled.events;
      const taken = Math.min(count, events.length);
      // A new array: the batch under way, if any, was sent with the old one.
      this.unsettled.events = events.slice(taken);
      if (this.unsettled.events.length === 0) this.unsettled = undefined;
      this.dropped += taken;
      count -= taken;
    }
    const taken = Math.min(count, this.buffer.length);
    this.buffer.splice(0, taken);
    this.dropped += taken;
  }
}

/** `INSERT_SQL`'s parameters: the batch's id, then one array per column, for `unnest`. */
function parameters(batch: AuditBatch): unknown[] {
  return [batch.id, ...columns(batch.events)];
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
