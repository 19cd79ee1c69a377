import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ApiUsersModule } from './api-users/api-users.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ChangeFeedModule } from './change-feed/change-feed.module';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { RequestValidationPipe } from './common/validation.pipe';
import { AppConfigModule } from './config/config.module';
import { DataSourceTuning } from './database/data-source-options';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { ODataModule } from './odata/odata.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { RedisModule } from './redis/redis.module';
import { RequestBodyModule } from './request-body/request-body.module';
import { SettingsModule } from './settings/settings.module';

@Module({})
export class AppModule {
  /**
   * @param env the environment to configure from (`process.env`, or a test's own).
   * @param database for tests only: database client timings no environment variable sets.
   */
  static forRoot(env: NodeJS.ProcessEnv, database: DataSourceTuning = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(env),
        DatabaseModule.forRoot(database),
        ChangeFeedModule,
        RedisModule,
        AuthModule,
        // After AuthModule: its global guard must run after the authentication guard.
        RateLimitModule,
        // After both: a body that could not be parsed is answered once the request passed them.
        RequestBodyModule,
        ApiUsersModule,
        SettingsModule,
        HealthModule,
        ODataModule,
        AuditModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        { provide: APP_PIPE, useClass: RequestValidationPipe },
      ],
    };
  }
}
