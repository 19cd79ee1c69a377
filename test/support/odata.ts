import { DataSource } from 'typeorm';
import { seedDemoData } from '../../src/shop/demo-data';
import { TestApp } from './test-app';

/** Seeds the deterministic demo data into the test app's database. */
export async function seedDemo(t: TestApp): Promise<void> {
  await seedDemoData(t.app.get(DataSource));
}

/**
 * Records the SQL statements the app sends that touch the shop tables, to count them
 * (authentication and settings statements are not counted).
 */
export function recordShopQueries(t: TestApp): { statements: string[]; stop(): void } {
  const dataSource = t.app.get(DataSource);
  const logger = dataSource.logger;
  const statements: string[] = [];
  const recording = Object.create(logger) as typeof logger;
  recording.logQuery = (query: string, parameters?: unknown[], queryRunner?: never) => {
    if (/"(customers|orders|products)"/.test(query)) statements.push(query);
    return logger.logQuery(query, parameters, queryRunner);
  };
  Object.assign(dataSource, { logger: recording });
  return { statements, stop: () => Object.assign(dataSource, { logger }) };
}

/**
 * Runs `after` once each statement the app sends that inserts into or updates a shop table has
 * completed, before the app goes on: what `after` does to the database is what a concurrent
 * request could do between that write and whatever the app does next, made certain.
 */
export function afterShopWrites(t: TestApp, after: () => Promise<unknown>): { stop(): void } {
  const dataSource = t.app.get(DataSource);
  const createQueryRunner = dataSource.createQueryRunner;
  dataSource.createQueryRunner = (...args) => {
    const runner = createQueryRunner.apply(dataSource, args);
    const query = runner.query.bind(runner) as (...a: unknown[]) => Promise<unknown>;
    Object.assign(runner, {
      query: async (sql: string, ...rest: unknown[]) => {
        const result = await query(sql, ...rest);
        if (/^(INSERT INTO|UPDATE) "(customers|orders|products)"/.test(sql)) await after();
        return result;
      },
    });
    return runner;
  };
  return { stop: () => Object.assign(dataSource, { createQueryRunner }) };
}
