import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { DatabaseProbe } from './database-probe.service';

@Controller('health')
export class HealthController {
  constructor(private readonly database: DatabaseProbe) {}

  /** 200 when the database answers in time, 503 (with the error body as well) when it does not. */
  @Get()
  @Public()
  async check(@Res({ passthrough: true }) reply: FastifyReply) {
    if (await this.database.isUp()) return { status: 'ok', database: 'up' };
    reply.status(503);
    return {
      status: 'error',
      database: 'down',
      error: { code: 'DatabaseUnavailable', message: 'The database does not answer.' },
    };
  }
}
