// First: V8 settings that must be in place before the app starts allocating.
import './runtime-tuning';
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import { AddressInfo } from 'node:net';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';
import { databaseProblem, listenProblem, serviceUrl } from './config/startup-checks';
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

  // Before anything starts: nothing half-starts for an address it cannot listen on.
  const listenError = await listenProblem(config.host, config.port);
  if (listenError) {
    console.error(`Gatehouse cannot start: ${listenError}`);
    process.exit(1);
  }

  let embedded: EmbeddedPostgres | undefined;
  // The embedded server while it starts: a signal then waits for it and stops it (it runs in a
  // session of its own, and a signal before the handlers below were installed left it running;
  // found by review).
  let embeddedStarting: Promise<EmbeddedPostgres> | undefined;
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
    embedded ??= await embeddedStarting?.catch(() => undefined);
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

  let env = process.env;
  if (!config.databaseUrl) {
    try {
      embeddedStarting = EmbeddedPostgres.start(config.dataDir, (line) => logger.log(line));
      embedded = await embeddedStarting;
    } catch (error) {
      if (stopping) return; // a signal came first: stop() ends the process
      // One line naming the variable (CONTRACT 1), not a stack trace.
      const reason = error instanceof Error ? error.message : String(error);
      console.error(`Gatehouse cannot start: DATA_DIR (${config.dataDir}): ${reason}`);
      process.exit(1);
    }
    if (stopping) return;
    env = { ...process.env, DATABASE_URL: embedded.url };
    logger.log(`Embedded PostgreSQL is running (data in ${config.dataDir})`);
  }

  // One line naming the variable for a database that cannot be used, rather than a stack trace
  // per retry of TypeORM's and Nest's dump of the error.
  const databaseError = await databaseProblem(env.DATABASE_URL!);
  if (databaseError) {
    const variable = embedded ? `DATA_DIR (${config.dataDir})` : 'DATABASE_URL';
    console.error(`Gatehouse cannot start: ${variable}: ${databaseError}`);
    await stop(1);
    return;
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
  // The port it got (PORT=0 asks for any free one).
  const { port } = app.getHttpServer().address() as AddressInfo;
  logger.log(
    `Gatehouse is serving on ${serviceUrl(config.tls ? 'https' : 'http', config.host, port)}`,
  );
  if (config.nodeEnv === 'production' && !config.tls && config.trustProxy === false) {
    logger.warn(
      'NODE_ENV=production without TLS_CERT_FILE or TRUST_PROXY: every request will get 421 SslRequired',
    );
  }
}

void main();
