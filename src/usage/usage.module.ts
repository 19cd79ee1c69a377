import { Module } from '@nestjs/common';
import { UsageService } from './usage.service';

/** Usage metering: requests per API user and UTC day, kept in PostgreSQL for billing. */
@Module({
  providers: [UsageService],
  exports: [UsageService],
})
export class UsageModule {}
