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
