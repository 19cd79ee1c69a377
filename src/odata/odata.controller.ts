import { Controller, Get, Header, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** The OData v4 service root; entity sets join the `value` list as they are built. */
@Controller('odata/v1')
export class ODataController {
  @Get()
  @Header('Content-Type', 'application/json; odata.metadata=minimal')
  @Header('OData-Version', '4.0')
  serviceDocument(@Req() request: FastifyRequest) {
    return {
      '@odata.context': `${request.protocol}://${request.host}/odata/v1/$metadata`,
      value: [] as { name: string; kind: 'EntitySet'; url: string }[],
    };
  }
}
