import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * CreatedOnUtc is stored in milliseconds, as the OData API serves it (JSON dates, `Precision="3"`
 * in $metadata). With now()'s microseconds stored, the value a client was given was not the
 * value stored: `CreatedOnUtc eq <it>` found nothing and `gt <it>` found the entity itself, so an
 * incremental sync got the last entity again every time. Existing values are rounded.
 */
export class CreatedOnUtcInMilliseconds1764200000000 implements MigrationInterface {
  name = 'CreatedOnUtcInMilliseconds1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "customers" ALTER COLUMN "created_on_utc" TYPE timestamptz(3)`,
    );
    await queryRunner.query(
      `ALTER TABLE "orders" ALTER COLUMN "created_on_utc" TYPE timestamptz(3)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "orders" ALTER COLUMN "created_on_utc" TYPE timestamptz`);
    await queryRunner.query(
      `ALTER TABLE "customers" ALTER COLUMN "created_on_utc" TYPE timestamptz`,
    );
  }
}
