import { applyDecorators, SetMetadata } from '@nestjs/common';
import type { Role } from '../api-users/api-user.entity';

export const IS_PUBLIC = 'gatehouse:public';
export const REQUIRED_ROLES = 'gatehouse:roles';
export const AVAILABLE_WHEN_API_DISABLED = 'gatehouse:availableWhenApiDisabled';

/** No authentication at all (only `GET /health`). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * The roles a route needs (any one of them). Without it, the guard asks for `read` on
 * GET/HEAD and `write` on every other method, as the OData API's contract says.
 */
export const Roles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES, roles);

/** Answers even while the API is switched off (reason 0 does not apply). */
export const AvailableWhenApiDisabled = () => SetMetadata(AVAILABLE_WHEN_API_DISABLED, true);

/** API management: role `admin`, reachable while the API is off so it can be switched on. */
export const AdminOnly = () => applyDecorators(Roles('admin'), AvailableWhenApiDisabled());
