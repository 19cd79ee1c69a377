import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from '../../src/app.module';
import { APP_OPTIONS, configureApp, createHttpAdapter } from '../../src/app.setup';
import { loadConfig } from '../../src/config/app-config';

/**
 * Run as a process by the e2e tests (ts-node): starts the app on the environment's settings,
 * closes it, prints `closed` and returns without `process.exit()`. The process then ends as
 * soon as nothing the app left behind keeps its event loop alive, which is what the tests
 * measure: a closed app must not hold the process (or a test runner) open.
 */
async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(process.env),
    createHttpAdapter(loadConfig(process.env)),
    { ...APP_OPTIONS, logger: false },
  );
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  await app.close();
  console.log('closed');
}

void main();
