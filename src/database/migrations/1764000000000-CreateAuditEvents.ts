import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail: denials and admin actions. `(occurred_at, id)` serves the retention delete,
 * the time filters and the newest-first keyset paging of `GET /admin/audit`;
 * `(public_key, occurred_at, id)` the same paging for one key.
 */
export class CreateAuditEvents1764000000000 implements MigrationInterface {
  name = 'CreateAuditEvents1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "audit_events" (
        "id" bigserial PRIMARY KEY,
        "occurred_at" timestamptz NOT NULL,
        "kind" varchar(10) NOT NULL CONSTRAINT "CK_audit_events_kind" CHECK ("kind" IN ('denial', 'admin')),
        "public_key" varchar(128) NULL,
        "client_address" inet NULL,
        "reason" varchar(40) NULL,
        "action" varchar(100) NULL,
        "target" varchar(100) NULL,
        "actor" varchar(128) NULL,
        "details" jsonb NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX "IX_audit_events_occurred_at" ON "audit_events" ("occurred_at", "id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IX_audit_events_public_key" ON "audit_events" ("public_key", "occurred_at", "id")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit_events"`);
  }
}
