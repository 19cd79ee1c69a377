import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Whether this database is still to get the demo data (CONTRACT 1: "a new database gets the
 * demo data set"). Start used to decide "new" before migrating (no `migrations` table yet) and
 * seed after: a first start stopped between the two left a migrated database that no later start
 * took for new, and it never got the demo data (found by review). The decision is now a row,
 * written with the migrations and cleared in the transaction that seeds, so no stop loses it.
 *
 * A database is taken for new when its shop tables are all empty as this migration runs: true of
 * every database migrated from nothing (the shop tables were created in the same run), false of
 * one that has been seeded. One whose shop rows were all deleted before upgrading is seeded once.
 */
export class DemoDataPending1764300000000 implements MigrationInterface {
  name = 'DemoDataPending1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "demo_data_state" (
        "id" smallint PRIMARY KEY CHECK ("id" = 1),
        "pending" boolean NOT NULL
      )`);
    await queryRunner.query(`
      INSERT INTO "demo_data_state" ("id", "pending")
      SELECT 1, NOT EXISTS (SELECT 1 FROM "customers") AND NOT EXISTS (SELECT 1 FROM "orders")
                AND NOT EXISTS (SELECT 1 FROM "products")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "demo_data_state"`);
  }
}
