import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions, DataSourceTuning } from './data-source-options';
import { runMigrationsLocked } from './run-migrations';

@Module({})
export class DatabaseModule {
  /** @param tuning for tests only (see `DataSourceTuning`); the app passes none. */
  static forRoot(tuning: DataSourceTuning = {}): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => {
            if (!config.databaseUrl) {
              throw new Error('DATABASE_URL: no database (main.ts starts the embedded one first)');
            }
            return {
              ...dataSourceOptions(config.databaseUrl, tuning),
              // Fail the start quickly with the real cause rather than retrying for half a minute.
              retryAttempts: 2,
              retryDelay: 1000,
            };
          },
          // Migrations at start, one instance at a time (see runMigrationsLocked).
          dataSourceFactory: async (options?: DataSourceOptions) => {
            const dataSource = await new DataSource(options!).initialize();
            try {
              await runMigrationsLocked(dataSource);
            } catch (error) {
              await dataSource.destroy();
              throw error;
            }
            return dataSource;
          },
        }),
      ],
    };
  }
}
