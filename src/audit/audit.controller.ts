import { Controller, Get, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AdminApi } from './admin-api.decorator';
import { AuditEventView, AuditReader } from './audit-reader.service';
import { AuditQueryDto, DEFAULT_LIMIT } from './audit-query.dto';
import { AuditService } from './audit.service';

export interface AuditPage {
  value: AuditEventView[];
  /** The next (older) page: the same query with `before` set; absent on the last page. */
  '@odata.nextLink'?: string;
}

@Controller('admin/audit')
@AdminApi()
export class AuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly reader: AuditReader,
  ) {}

  /** Denials and admin actions, newest first; this instance's buffered events are written first. */
  @Get()
  async list(@Query() query: AuditQueryDto, @Req() request: FastifyRequest): Promise<AuditPage> {
    await this.audit.flush();
    const limit = query.limit ?? DEFAULT_LIMIT;
    // One more than the page tells whether there is a next page.
    const events = await this.reader.list(query, limit + 1);
    const page: AuditPage = { value: events.slice(0, limit) };
    if (events.length > limit) {
      page['@odata.nextLink'] = nextLink(request, limit, events[limit - 1].id);
    }
    return page;
  }
}

/** The same request, with `limit` spelled out and `before` the last event of this page. */
function nextLink(request: FastifyRequest, limit: number, before: string): string {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const parts = Object.entries({ ...query, limit: String(limit), before }).flatMap(
    ([name, value]) =>
      typeof value === 'string' ? [`${encodeURIComponent(name)}=${encodeURIComponent(value)}`] : [],
  );
  const path = request.url.split('?')[0];
  return `${request.protocol}://${request.host}${path}?${parts.join('&')}`;
}
