import { randomUUID } from 'node:crypto';

/**
 * Exactly-once write-behind batches (usage counts, audit events).
 *
 * A batch's outcome can be unknown: when the client's query timeout fires, pg reports an error
 * but neither cancels the statement nor closes the connection, and the statement still commits
 * once a stalled server goes on (closing the connection would not help either: the server runs
 * what it has received and commits before it notices). So every batch gets an id of its own,
 * its statement records that id in `applied_write_batches` together with its rows, and writes
 * no rows when the id is already there. A batch whose write failed is retried as the same batch
 * (same id, no rows added), and new rows go into a new batch: a retry of a batch that did
 * commit changes nothing. Two attempts under way at once are serialised by the id's primary key
 * (the later one waits for the earlier one's commit, then finds the id).
 */

/**
 * How long an applied id is kept. A failed batch is retried at the next flush, one flush
 * interval later while the database answers; only a retry held off for longer than this (this
 * instance cut off from the database for a day while others go on writing and pruning) could
 * apply a batch twice.
 */
export const APPLIED_BATCH_RETENTION = '1 day';
/**
 * Expired ids deleted per write, at most: each write adds one, so a backlog (after an upgrade,
 * or a busy day) is gone within a few writes, and no write deletes many rows.
 */
export const PRUNE_LIMIT = 100;

export const newBatchId = (): string => randomUUID();

/**
 * The common table expressions that open a batch's statement (`WITH ${APPLY_BATCH} INSERT …`),
 * its batch id being `$1`. `"first_application"` holds a row only when the id was not applied
 * before: the statement's rows must be selected `WHERE EXISTS (SELECT 1 FROM
 * "first_application")`, an uncorrelated condition PostgreSQL evaluates before the first row.
 * Ids older than `APPLIED_BATCH_RETENTION` are deleted in the same statement; `SKIP LOCKED`, so
 * that instances pruning at the same time neither wait for nor deadlock with each other, and
 * `= ANY (ARRAY(…))` rather than `IN (…)`, which PostgreSQL 15 planned as a hash join over the
 * whole table (measured: a sequential scan of every id on every write).
 */
export const APPLY_BATCH = `
  "first_application" AS (
    INSERT INTO "applied_write_batches" ("id") VALUES ($1::uuid)
    ON CONFLICT ("id") DO NOTHING
    RETURNING 1),
  "pruned" AS (
    DELETE FROM "applied_write_batches"
     WHERE "id" = ANY (ARRAY(
       SELECT "id" FROM "applied_write_batches"
        WHERE "applied_at" < now() - interval '${APPLIED_BATCH_RETENTION}'
        ORDER BY "applied_at"
        LIMIT ${PRUNE_LIMIT}
        FOR UPDATE SKIP LOCKED)))`;
