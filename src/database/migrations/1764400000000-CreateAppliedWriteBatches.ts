import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ids of the write-behind batches (usage counts, audit events) already applied, so that a
 * batch retried after its outcome was unknown (the client's query timeout fired, yet the
 * statement committed) is not applied twice. Kept about a day (see write-batches.ts); the index
 * on the time serves that clean-up.
 */
export class CreateAppliedWriteBatches1764400000000 implements MigrationInterface {
  name = 'CreateAppliedWriteBatches1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "applied_write_batches" (
        "id" uuid NOT NULL CONSTRAINT "PK_applied_write_batches" PRIMARY KEY,
        "applied_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_applied_write_batches_applied_at" ON "applied_write_batches" ("applied_at")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "applied_write_batches"`);
  }
}
