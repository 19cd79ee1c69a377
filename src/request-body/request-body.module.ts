import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { RequestBodyGuard } from './request-body.guard';

/**
 * Parses request bodies after every other check (see UnparsedBody).
 * Global guards run in the order their modules were imported: import this module after
 * AuthModule and RateLimitModule.
 */
@Module({
  providers: [{ provide: APP_GUARD, useClass: RequestBodyGuard }],
})
export class RequestBodyModule {}
