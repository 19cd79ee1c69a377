import { DataSource } from 'typeorm';

/** The key of the PostgreSQL advisory lock every Gatehouse instance takes to migrate ("gate"). */
export const MIGRATION_LOCK_KEY = 0x67617465;

/**
 * Runs the pending migrations while holding a session-level advisory lock, so that instances
 * starting at once on a new database migrate one after the other: the others then find
 * nothing pending. Found by review: with TypeORM's `migrationsRun`, two instances ran the
 * first migration at once, one failed on a duplicate key and started only through TypeORM's
 * retry, which slower migrations would have run out of.
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<void> {
  const lockHolder = dataSource.createQueryRunner();
  await lockHolder.connect();
  try {
    await lockHolder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await dataSource.runMigrations();
    } finally {
      await lockHolder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lockHolder.release();
  }
}
