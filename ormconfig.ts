import { DataSource } from 'typeorm';
import { dataSourceOptions } from './src/database/data-source-options';

// For the TypeORM CLI (`npm run migration:run` etc.). The app builds its connection from the
// same options in src/database/database.module.ts.
const url = process.env.DATABASE_URL;
if (!url) {
  throw new Error('DATABASE_URL must be set for the TypeORM CLI (postgres://user:pass@host/db)');
}

export default new DataSource(dataSourceOptions(url));
