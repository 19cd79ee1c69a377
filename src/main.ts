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
import { settledWithin } from './common/settled-within';
import { seedDemoData } from './shop/demo-data';
import { APP_OPTIONS, configureApp, createHttpAdapter } from './app.setup';

const logger = new Logger('Gatehouse');

/**
 * How long closing the app may take before Gatehouse exits anyway: a database that stopped
 * answering kept it open for as long as it stayed frozen (found by review), and a second
 * signal is ignored (see stop). Above the client's 15 s query time limit.
 */
const CLOSE_DEADLINE_MS = 20_000;

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
    try {
      embedded = await EmbeddedPostgres.start(config.dataDir, (line) => logger.log(line));
    } catch (error) {
      // One line naming the variable (CONTRACT 1), not a stack trace.
      const reason = error instanceof Error ? error.message : String(error);
      console.error(`Gatehouse cannot start: DATA_DIR (${config.dataDir}): ${reason}`);
      process.exit(1);
    }
    env = { ...process.env, DATABASE_URL: embedded.url };
    logger.log(`Embedded PostgreSQL is running (data in ${config.dataDir})`);
  }

  let app: NestFastifyApplication | undefined;
  let stopping = false;
  const stop = async (exitCode: number): Promise<void> => {
    if (stopping) return; // a second signal while closing: let the first finish
    stopping = true;
    const closing = async () => {
      // The server first, waiting for the requests in flight (Nest flushes the batched writes
      // before it closes the server: what those requests recorded was lost; found by review),
      // then the app: the flushes, the pool.
      if (app) {
        const fastify = app.getHttpAdapter().getInstance();
        const closed = fastify.close();
        // A keep-alive connection whose request was in flight at the close stays open once
        // answered (Node closes only the connections idle at that moment), and the close
        // waited for the client to drop it: up to a minute.
        const sweep = setInterval(() => fastify.server.closeIdleConnections(), 100);
        await closed.finally(() => clearInterval(sweep));
      }
      await app?.close();
    };
    try {
      const closingApp = closing();
      // Its own error, if it failed in time, goes to the catch below.
      if (await settledWithin(closingApp, CLOSE_DEADLINE_MS)) await closingApp;
      else {
        logger.error(
          `Still closing after ${CLOSE_DEADLINE_MS / 1000} s (is the database answering?); exiting without waiting`,
        );
        exitCode = exitCode || 1;
      }
    } catch (error) {
      logger.error(`Error while closing: ${String(error)}`);
      exitCode = exitCode || 1;
    }
    const leftFor = await embedded?.stop().catch((error) => {
      logger.error(`Could not stop PostgreSQL: ${error}`);
      return [];
    });
    if (leftFor?.length) {
      logger.log(`The embedded PostgreSQL stays up for Gatehouse process ${leftFor.join(', ')}`);
    }
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
    // A new database (CONTRACT 1), or one whose first start was stopped before it was seeded.
    if (await seedDemoData(app.get(DataSource), { onlyIfPending: true })) {
      logger.log('Seeded the demo data into the new database');
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
