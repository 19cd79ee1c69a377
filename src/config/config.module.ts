import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { AppConfig, loadConfig } from './app-config';

/**
 * Makes the validated {@link AppConfig} injectable everywhere. The environment is passed in
 * (rather than read from `process.env` here) so that tests can start apps with their own.
 */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot(env: NodeJS.ProcessEnv): DynamicModule {
    return {
      module: AppConfigModule,
      imports: [
        ConfigModule.forRoot({
          ignoreEnvFile: true,
          validatePredefined: false,
          load: [() => ({ app: loadConfig(env) })],
        }),
      ],
      providers: [
        {
          provide: AppConfig,
          inject: [ConfigService],
          useFactory: (config: ConfigService): AppConfig => config.getOrThrow<AppConfig>('app'),
        },
      ],
      exports: [AppConfig],
    };
  }
}
