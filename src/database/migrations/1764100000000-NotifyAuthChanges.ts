import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every change that authentication depends on announces itself on the `gatehouse_changes`
 * channel, so that each instance's caches (src/change-feed/) drop what it makes stale on the
 * next request. Triggers rather than calls in the services: a change made by another instance,
 * by `npm run seed` or by an operator in psql is announced too. NOTIFY is sent at commit, so a
 * rolled-back change announces nothing.
 *
 * One notification per statement, not per row (a bulk change of a million rows would queue a
 * million notifications for every instance to read while serving):
 *
 * - UPDATE and DELETE on api_users send the public keys whose authentication columns changed
 *   (read from the statement's transition tables), or "every key" when the list would not fit
 *   comfortably in a payload (PostgreSQL's limit is 8000 bytes). The batched `last_request_at`
 *   writes and `updated_at` change nothing authentication reads, so they announce nothing:
 *   they would otherwise empty the caches every flush;
 * - INSERT sends nothing: a key the database does not have is never cached, so a new user
 *   cannot be stale anywhere;
 * - TRUNCATE sends "every key"; any change to the settings row sends "settings".
 */
export class NotifyAuthChanges1764100000000 implements MigrationInterface {
  name = 'NotifyAuthChanges1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
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

    await queryRunner.query(`
      CREATE FUNCTION "gatehouse_notify_settings_change"() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('gatehouse_changes', json_build_object('table', 'settings')::text);
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "settings_notify" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "settings"
      FOR EACH STATEMENT EXECUTE FUNCTION "gatehouse_notify_settings_change"()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "settings_notify" ON "settings"`);
    await queryRunner.query(`DROP FUNCTION "gatehouse_notify_settings_change"()`);
    await queryRunner.query(`DROP TRIGGER "api_users_notify_truncate" ON "api_users"`);
    await queryRunner.query(`DROP TRIGGER "api_users_notify_delete" ON "api_users"`);
    await queryRunner.query(`DROP TRIGGER "api_users_notify_update" ON "api_users"`);
    await queryRunner.query(`DROP FUNCTION "gatehouse_notify_api_users_statement"()`);
  }
}
