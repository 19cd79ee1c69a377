import { IsBoolean, IsOptional, IsString, Length } from 'class-validator';
import type { Role } from '../api-user.entity';
import { IsRoleList } from './is-role-list.decorator';

export class UpdateApiUserDto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @IsOptional()
  @IsRoleList()
  roles?: Role[];

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}
