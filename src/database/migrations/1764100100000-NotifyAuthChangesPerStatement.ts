import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The api_users change announcements of migration 1764100000000, one per statement instead of
 * one per row. Row triggers sent a notification for every row an INSERT or UPDATE touched:
 * growing the table by a million users queued a million notifications, which every instance
 * then had to read while serving (the benchmark showed it). Now:
 *
 * - UPDATE and DELETE send one notification with the public keys whose authentication columns
 *   changed (read from the statement's transition tables), or one "every key" notification
 *   when the list would not fit comfortably in a payload (PostgreSQL's limit is 8000 bytes);
 * - INSERT sends nothing: a key the database does not have is never cached, so a new user
 *   cannot be stale anywhere;
 * - TRUNCATE sends "every key", as before.
 */
export class NotifyAuthChangesPerStatement1764100100000 implements MigrationInterface {
  name = 'NotifyAuthChangesPerStatement1764100100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "api_users_notify_insert_delete" ON "api_users"`);
    await queryRunner.query(`DROP TRIGGER "api_users_notify_update" ON "api_users"`);
    await queryRunner.query(`DROP TRIGGER "api_users_notify_truncate" ON "api_users"`);
    await queryRunner.query(`DROP FUNCTION "gatehouse_notify_api_user_change"()`);
    await queryRunner.query(`
      CREATE FUNCTION "gatehouse_notify_api_users_statement"() RETURNS trigger
      LANGUAGE plpgsql AS $$
      DECLARE
        keys text[];
      BEGIN
        IF TG_OP = 'UPDATE' THEN
          SELECT array_agg(DISTINCT k) INTO keys
            FROM old_rows o
            JOIN new_rows n ON n.id = o.id
           CROSS JOIN LATERAL unnest(ARRAY[o.public_key, n.public_key]) AS k
           WHERE (o.public_key, o.secret_hash, o.enabled, o.roles, o.name,
                  o.rate_limit_requests, o.rate_limit_window_seconds, o.daily_quota)
                 IS DISTINCT FROM
                 (n.public_key, n.secret_hash, n.enabled, n.roles, n.name,
                  n.rate_limit_requests, n.rate_limit_window_seconds, n.daily_quota);
        ELSIF TG_OP = 'DELETE' THEN
          SELECT array_agg(public_key) INTO keys FROM old_rows;
        END IF;
        IF TG_OP = 'TRUNCATE' OR octet_length(array_to_string(keys, ',')) > 6000 THEN
          PERFORM pg_notify('gatehouse_changes', json_build_object('table', 'api_users')::text);
        ELSIF cardinality(keys) > 0 THEN
          PERFORM pg_notify('gatehouse_changes',
            json_build_object('table', 'api_users', 'keys', keys)::text);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "api_users_notify_update" AFTER UPDATE ON "api_users"
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION "gatehouse_notify_api_users_statement"()`);
    await queryRunner.query(`
      CREATE TRIGGER "api_users_notify_delete" AFTER DELETE ON "api_users"
      REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION "gatehouse_notify_api_users_statement"()`);
    await queryRunner.query(`
      CREATE TRIGGER "api_users_notify_truncate" AFTER TRUNCATE ON "api_users"
      FOR EACH STATEMENT EXECUTE FUNCTION "gatehouse_notify_api_users_statement"()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "api_users_notify_truncate" ON "api_users"`);
    await queryRunner.query(`DROP TRIGGER "api_users_notify_delete" ON "api_users"`);
    await queryRunner.query(`DROP TRIGGER "api_users_notify_update" ON "api_users"`);
    await queryRunner.query(`DROP FUNCTION "gatehouse_notify_api_users_statement"()`);
    // Back to migration 1764100000000's row triggers.
    await queryRunner.query(`
      CREATE FUNCTION "gatehouse_notify_api_user_change"() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          PERFORM pg_notify('gatehouse_changes',
            json_build_object('table', 'api_users', 'keys', json_build_array(NEW.public_key))::text);
        ELSIF TG_OP = 'UPDATE' THEN
          PERFORM pg_notify('gatehouse_changes',
            json_build_object('table', 'api_users',
              'keys', json_build_array(OLD.public_key, NEW.public_key))::text);
        ELSIF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('gatehouse_changes',
            json_build_object('table', 'api_users', 'keys', json_build_array(OLD.public_key))::text);
        ELSE
          PERFORM pg_notify('gatehouse_changes', json_build_object('table', 'api_users')::text);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "api_users_notify_insert_delete" AFTER INSERT OR DELETE ON "api_users"
      FOR EACH ROW EXECUTE FUNCTION "gatehouse_notify_api_user_change"()`);
    await queryRunner.query(`
      CREATE TRIGGER "api_users_notify_update" AFTER UPDATE ON "api_users"
      FOR EACH ROW WHEN (
        (OLD.public_key, OLD.secret_hash, OLD.enabled, OLD.roles, OLD.name,
         OLD.rate_limit_requests, OLD.rate_limit_window_seconds, OLD.daily_quota)
        IS DISTINCT FROM
        (NEW.public_key, NEW.secret_hash, NEW.enabled, NEW.roles, NEW.name,
         NEW.rate_limit_requests, NEW.rate_limit_window_seconds, NEW.daily_quota))
      EXECUTE FUNCTION "gatehouse_notify_api_user_change"()`);
    await queryRunner.query(`
      CREATE TRIGGER "api_users_notify_truncate" AFTER TRUNCATE ON "api_users"
      FOR EACH STATEMENT EXECUTE FUNCTION "gatehouse_notify_api_user_change"()`);
  }
}
