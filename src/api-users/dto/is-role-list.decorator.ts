import { applyDecorators } from '@nestjs/common';
import { ArrayUnique, IsArray, IsIn } from 'class-validator';
import { ROLES } from '../api-user.entity';

/** A list of distinct roles out of read, write, admin. */
export const IsRoleList = () =>
  applyDecorators(
    IsArray(),
    ArrayUnique(),
    IsIn(ROLES, { each: true, message: `each value in roles must be one of ${ROLES.join(', ')}` }),
  );
