import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        if (!config.databaseUrl) {
          throw new Error('DATABASE_URL: no database (main.ts starts the embedded one first)');
        }
        return {
          ...dataSourceOptions(config.databaseUrl),
          migrationsRun: true,
          // Fail the start quickly with the real cause rather than retrying for half a minute.
          retryAttempts: 2,
          retryDelay: 1000,
        };
      },
    }),
  ],
})
export class DatabaseModule {}
