import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { AppModule } from '../../src/app.module';
import { APP_OPTIONS, configureApp, createHttpAdapter } from '../../src/app.setup';
import { loadConfig } from '../../src/config/app-config';
import { DataSourceTuning } from '../../src/database/data-source-options';
import { createTestDatabase, TestDatabase } from './test-database';

/** The bootstrap admin every test app starts with. */
export const ADMIN = {
  publicKey: 'e2e-admin-public-key',
  secretKey: 'e2e-admin-secret-key-0123456789',
};

export interface TestApp {
  app: NestFastifyApplication;
  http: TestAgent;
  db: TestDatabase;
  /** Closes the app (flushing its writes); drops the database unless it was passed in. */
  close(): Promise<void>;
}

export function basic(publicKey: string, secret: string): string {
  return `Basic ${Buffer.from(`${publicKey}:${secret}`, 'utf8').toString('base64')}`;
}

export const adminAuth = (): string => basic(ADMIN.publicKey, ADMIN.secretKey);

/**
 * Starts the real app (global guard, filter, pipe, Fastify, PostgreSQL) on a fresh database,
 * or on `db` when given (several instances on one database); `tuning` changes database client
 * timings that no environment variable sets.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  db?: TestDatabase,
  tuning: DataSourceTuning = {},
): Promise<TestApp> {
  const database = db ?? (await createTestDatabase());
  const fullEnv = {
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    ADMIN_PUBLIC_KEY: ADMIN.publicKey,
    ADMIN_SECRET_KEY: ADMIN.secretKey,
    LAST_REQUEST_FLUSH_MS: '60000',
    ...env,
  };
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(fullEnv, tuning)],
  }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(
    createHttpAdapter(loadConfig(fullEnv)),
    { ...APP_OPTIONS, logger: process.env.GATEHOUSE_TEST_LOGS ? ['error', 'warn'] : false },
  );
  configureApp(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    http: request(app.getHttpServer()),
    db: database,
    close: async () => {
      await app.close();
      if (!db) await database.drop();
    },
  };
}

/** Creates an API user through the admin API and returns the answer (with its secret). */
export async function createApiUser(
  t: TestApp,
  body: Record<string, unknown> = {},
): Promise<{ id: string; publicKey: string; secretKey: string; roles: string[] }> {
  const response = await t.http
    .post('/admin/api-users')
    .set('Authorization', adminAuth())
    .send({ name: 'e2e user', roles: ['read', 'write'], ...body })
    .expect(201);
  return response.body;
}

/** Switches a user's API access off through the admin API. */
export async function disableApiUser(t: TestApp, id: string): Promise<void> {
  await t.http
    .patch(`/admin/api-users/${id}`)
    .set('Authorization', adminAuth())
    .send({ enabled: false })
    .expect(200);
}

/** Runs `run` against an app configured with `env` on `db`, and closes the app afterwards. */
export async function withApp(
  db: TestDatabase,
  env: Record<string, string>,
  run: (t: TestApp) => Promise<void>,
): Promise<void> {
  const t = await createTestApp(env, db);
  try {
    await run(t);
  } finally {
    await t.close();
  }
}
