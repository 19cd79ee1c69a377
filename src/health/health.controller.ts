import { Controller, Get, Res } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { Public } from '../auth/auth.decorators';

@Controller('health')
export class HealthController {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** 200 when the database answers, 503 (with the error body as well) when it does not. */
  @Get()
  @Public()
  async check(@Res({ passthrough: true }) reply: FastifyReply) {
    try {
      await this.dataSource.query('SELECT 1');
      return { status: 'ok', database: 'up' };
    } catch {
      reply.status(503);
      return {
        status: 'error',
        database: 'down',
        error: { code: 'DatabaseUnavailable', message: 'The database does not answer.' },
      };
    }
  }
}
