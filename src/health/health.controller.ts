import { Controller, Get, Res } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyReply } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { Public } from '../auth/auth.decorators';

/**
 * How long /health waits for the database. A server that has stopped answering (frozen, or
 * its network gone without a reset) leaves a query waiting until the operating system gives
 * the connection up, minutes later; a health check must answer "down" well before a probe's
 * own timeout instead of hanging (found by review: no answer after 90 s).
 */
export const HEALTH_TIMEOUT_MS = 2000;

@Controller('health')
export class HealthController {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** 200 when the database answers in time, 503 (with the error body as well) when it does not. */
  @Get()
  @Public()
  async check(@Res({ passthrough: true }) reply: FastifyReply) {
    const timeout = new AbortController();
    const answered = await Promise.race([
      this.dataSource.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      sleep(HEALTH_TIMEOUT_MS, false, { signal: timeout.signal }).catch(() => false),
    ]);
    timeout.abort();
    if (answered) return { status: 'ok', database: 'up' };
    reply.status(503);
    return {
      status: 'error',
      database: 'down',
      error: { code: 'DatabaseUnavailable', message: 'The database does not answer.' },
    };
  }
}
