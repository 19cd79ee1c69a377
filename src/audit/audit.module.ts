import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AdminAuditInterceptor } from './admin-audit.interceptor';
import { AuditEvent } from './audit-event.entity';
import { AuditReader } from './audit-reader.service';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';

/**
 * The audit trail: denials (recorded by the exception filter through `AuditService`), admin
 * actions (`AdminAuditInterceptor`, which `@AdminApi()` puts on each admin controller) and `GET /admin/audit`.
 * Global, so that the admin controllers' modules can build the interceptor without importing
 * this module (which would not change what they can do).
 */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent])],
  controllers: [AuditController],
  providers: [AuditService, AuditReader, AdminAuditInterceptor],
  exports: [AuditService, AdminAuditInterceptor],
})
export class AuditModule {}
