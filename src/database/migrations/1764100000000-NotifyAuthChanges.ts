import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every change that authentication depends on announces itself on the `gatehouse_changes`
 * channel, so that each instance's caches (src/change-feed/) drop what it makes stale on the
 * next request. Triggers rather than calls in the services: a change made by another instance,
 * by `npm run seed` or by an operator in psql is announced too. NOTIFY is sent at commit, so a
 * rolled-back change announces nothing.
 *
 * The batched `last_request_at` writes and `updated_at` change nothing authentication reads, so
 * the trigger's WHEN clause leaves them out: they would otherwise empty the caches every flush.
 */
export class NotifyAuthChanges1764100000000 implements MigrationInterface {
  name = 'NotifyAuthChanges1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
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
        ELSE -- TRUNCATE: every key
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
    await queryRunner.query(`DROP TRIGGER "api_users_notify_update" ON "api_users"`);
    await queryRunner.query(`DROP TRIGGER "api_users_notify_insert_delete" ON "api_users"`);
    await queryRunner.query(`DROP FUNCTION "gatehouse_notify_api_user_change"()`);
  }
}
