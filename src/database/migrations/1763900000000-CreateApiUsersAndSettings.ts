import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateApiUsersAndSettings1763900000000 implements MigrationInterface {
  name = 'CreateApiUsersAndSettings1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "api_users" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "name" varchar(200) NOT NULL,
        "public_key" varchar(128) NOT NULL,
        "secret_hash" varchar(200) NOT NULL,
        "roles" text[] NOT NULL,
        "enabled" boolean NOT NULL DEFAULT true,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        "last_request_at" timestamptz NULL,
        CONSTRAINT "UQ_api_users_public_key" UNIQUE ("public_key"),
        CONSTRAINT "CK_api_users_roles" CHECK ("roles" <@ ARRAY['read', 'write', 'admin']::text[])
      )`);
    await queryRunner.query(`
      CREATE TABLE "settings" (
        "id" smallint PRIMARY KEY CONSTRAINT "CK_settings_single_row" CHECK ("id" = 1),
        "api_enabled" boolean NOT NULL,
        "max_top" integer NOT NULL CONSTRAINT "CK_settings_max_top" CHECK ("max_top" BETWEEN 1 AND 10000),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    // Smartstore's defaults: the API on, pages of at most 120 entities.
    await queryRunner.query(
      `INSERT INTO "settings" ("id", "api_enabled", "max_top") VALUES (1, true, 120)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "settings"`);
    await queryRunner.query(`DROP TABLE "api_users"`);
  }
}
