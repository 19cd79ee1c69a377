// First: V8 settings that must be in place before the app starts allocating.
import './runtime-tuning';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';
import { EmbeddedPostgres } from './database/embedded-postgres';
import { seedDemoData } from './shop/demo-data';
import { APP_OPTIONS, configureApp, createHttpAdapter } from './app.setup';

const logger = new Logger('Gatehouse');

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Gatehouse cannot start: ${error.message}`);
    process.exit(1);
  }

  let embedded: EmbeddedPostgres | undefined;
  let env = process.env;
  if (!config.databaseUrl) {
    embedded = await EmbeddedPostgres.start(config.dataDir, (line) => logger.log(line));
    env = { ...process.env, DATABASE_URL: embedded.url };
    logger.log(`Embedded PostgreSQL is running (data in ${config.dataDir})`);
  }

  let app: NestFastifyApplication | undefined;
  let stopping = false;
  const stop = async (exitCode: number): Promise<void> => {
    if (stopping) return; // a second signal while closing: let the first finish
    stopping = true;
    try {
      // Closes the server, flushes the batched writes, closes the pool; then the database.
      await app?.close();
    } catch (error) {
      logger.error(`Error while closing: ${String(error)}`);
      exitCode = exitCode || 1;
    }
    await embedded?.stop().catch((error) => logger.error(`Could not stop PostgreSQL: ${error}`));
    process.exit(exitCode);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      logger.log(`${signal} received, shutting down`);
      void stop(0);
    });
  }

  try {
    app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot(env),
      createHttpAdapter(config),
      APP_OPTIONS,
    );
    configureApp(app);
    if (embedded?.created && (await seedDemoData(app.get(DataSource)))) {
      logger.log('Seeded the demo data into the new embedded database');
    }
    await app.listen(config.port, config.host);
  } catch (error) {
    logger.error(
      `Gatehouse could not start: ${error instanceof Error ? error.message : String(error)}`,
    );
    await stop(1);
    return;
  }
  const scheme = config.tls ? 'https' : 'http';
  logger.log(`Gatehouse is serving on ${scheme}://${config.host}:${config.port}`);
  if (config.nodeEnv === 'production' && !config.tls && config.trustProxy === false) {
    logger.warn(
      'NODE_ENV=production without TLS_CERT_FILE or TRUST_PROXY: every request will get 421 SslRequired',
    );
  }
}

void main();
