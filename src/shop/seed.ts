import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '../config/app-config';
import { dataSourceOptions } from '../database/data-source-options';
import { EmbeddedPostgres } from '../database/embedded-postgres';
import { DEMO_DATA_SIZE, seedDemoData } from './demo-data';

/**
 * `npm run seed`: migrates and seeds the demo data into DATABASE_URL, or into the embedded
 * database under DATA_DIR when DATABASE_URL is unset. Does nothing to tables that have rows.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const embedded = config.databaseUrl
    ? undefined
    : await EmbeddedPostgres.start(config.dataDir, (line) => console.log(line));
  const dataSource = new DataSource(dataSourceOptions(embedded?.url ?? config.databaseUrl!));
  try {
    await dataSource.initialize();
    await dataSource.runMigrations();
    const seeded = await seedDemoData(dataSource);
    const { customers, orders, products } = DEMO_DATA_SIZE;
    console.log(
      seeded
        ? `Seeded the demo data: ${customers} customers, ${orders} orders, ${products} products.`
        : 'The shop tables already have rows: nothing seeded.',
    );
  } finally {
    await dataSource.destroy().catch(() => undefined);
    // Left running while a Gatehouse uses it (see EmbeddedPostgres.stop).
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(
    error instanceof ConfigError
      ? `Cannot seed: ${error.message}`
      : `Seeding failed: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
