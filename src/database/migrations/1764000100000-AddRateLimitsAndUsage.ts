import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-user rate limits and daily quotas (null: the environment's default; 0: no limit), and
 * the metered requests per user and UTC day for billing.
 */
export class AddRateLimitsAndUsage1764000100000 implements MigrationInterface {
  name = 'AddRateLimitsAndUsage1764000100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "api_users"
        ADD COLUMN "rate_limit_requests" integer NULL
          CONSTRAINT "CK_api_users_rate_limit_requests" CHECK ("rate_limit_requests" >= 0),
        ADD COLUMN "rate_limit_window_seconds" integer NULL
          CONSTRAINT "CK_api_users_rate_limit_window" CHECK ("rate_limit_window_seconds" BETWEEN 1 AND 2592000),
        ADD COLUMN "daily_quota" integer NULL
          CONSTRAINT "CK_api_users_daily_quota" CHECK ("daily_quota" >= 0),
        ADD CONSTRAINT "CK_api_users_rate_limit_pair"
          CHECK (("rate_limit_requests" IS NULL) = ("rate_limit_window_seconds" IS NULL))`);
    await queryRunner.query(`
      CREATE TABLE "api_usage" (
        "api_user_id" uuid NOT NULL
          CONSTRAINT "FK_api_usage_api_user" REFERENCES "api_users" ("id") ON DELETE CASCADE,
        "day" date NOT NULL,
        "requests" bigint NOT NULL CONSTRAINT "CK_api_usage_requests" CHECK ("requests" >= 0),
        CONSTRAINT "PK_api_usage" PRIMARY KEY ("api_user_id", "day")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "api_usage"`);
    await queryRunner.query(`
      ALTER TABLE "api_users"
        DROP CONSTRAINT "CK_api_users_rate_limit_pair",
        DROP COLUMN "daily_quota",
        DROP COLUMN "rate_limit_window_seconds",
        DROP COLUMN "rate_limit_requests"`);
  }
}
