import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminAuditInterceptor } from './admin-audit.interceptor';
import { AuditEvent } from './audit-event.entity';
import { AuditReader } from './audit-reader.service';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';

/**
 * The audit trail: denials (recorded by the exception filter through `AuditService`), admin
 * actions (the global `AdminAuditInterceptor`) and `GET /admin/audit`.
 */
@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent])],
  controllers: [AuditController],
  providers: [
    AuditService,
    AuditReader,
    { provide: APP_INTERCEPTOR, useClass: AdminAuditInterceptor },
  ],
  exports: [AuditService],
})
export class AuditModule {}
