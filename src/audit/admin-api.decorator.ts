import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { AdminOnly } from '../auth/auth.decorators';
import { AdminAuditInterceptor } from './admin-audit.interceptor';

/**
 * An admin API controller: `AdminOnly()` (role `admin`, reachable while the API is off) with
 * its successful actions recorded in the audit trail. One decorator, so that a new admin
 * controller cannot be admin-only and unaudited by forgetting the second half.
 */
export const AdminApi = () => applyDecorators(AdminOnly(), UseInterceptors(AdminAuditInterceptor));
